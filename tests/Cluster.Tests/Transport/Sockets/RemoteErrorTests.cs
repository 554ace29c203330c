using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

public sealed class RemoteErrorTests
{
    [Fact]
    public void ATypeNotRegisteredOnTheOwnerCrossesTheSocketAsItself()
    {
        var (code, message) = RemoteError.From(new EntityTypeNotRegisteredException("Cart", "Entity type 'Cart' is not registered on runner r:1."));

        var error = Assert.IsType<EntityTypeNotRegisteredException>(RemoteError.ToException(code, message));

        Assert.Equal(RemoteErrorCode.EntityTypeNotRegistered, code);
        Assert.Equal("Cart", error.EntityType);
        Assert.Equal("Entity type 'Cart' is not registered on runner r:1.", error.Message);
        Assert.IsType<UnknownEntityTypeException>(RemoteError.ToException(RemoteError.From(new UnknownEntityTypeException("no RPC")).Code, "no RPC"));
    }
}

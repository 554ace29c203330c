using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>Carries typed cluster errors across the socket: exception → (code, message) → the same exception type.</summary>
internal static class RemoteError
{
    private const char Separator = '\u001f';

    public static (RemoteErrorCode Code, string Message) From(Exception exception) => exception switch
    {
        EntityNotAssignedToRunnerException e => (RemoteErrorCode.EntityNotAssignedToRunner, Address(e.Address)),
        MailboxFullException e => (RemoteErrorCode.MailboxFull, Address(e.Address)),
        EntityCapacityExceededException e => (RemoteErrorCode.EntityCapacityExceeded, Address(e.Address)),
        AlreadyProcessingMessageException e => (RemoteErrorCode.AlreadyProcessingMessage, Address(e.Address)),
        MalformedMessageException e => (RemoteErrorCode.MalformedMessage, e.Message),
        PersistenceException e => (RemoteErrorCode.PersistenceError, e.Message),
        RunnerUnavailableException e => (RemoteErrorCode.RunnerUnavailable, e.Message),
        EntityTypeNotRegisteredException e => (RemoteErrorCode.EntityTypeNotRegistered, e.EntityType + Separator + e.Message),
        UnknownEntityTypeException e => (RemoteErrorCode.UnknownEntityType, e.Message),
        ClusterAuthenticationException e => (RemoteErrorCode.Unauthorized, e.Message),
        EntityHandlerException e => (RemoteErrorCode.HandlerFailed, e.ErrorType + Separator + e.Message),
        OperationCanceledException => (RemoteErrorCode.Interrupted, "The request was interrupted by its sender."),
        _ => (RemoteErrorCode.Internal, $"{exception.GetType().Name}: {exception.Message}"),
    };

    public static Exception ToException(RemoteErrorCode code, string message) => code switch
    {
        RemoteErrorCode.EntityNotAssignedToRunner => new EntityNotAssignedToRunnerException(ParseAddress(message)),
        RemoteErrorCode.MailboxFull => new MailboxFullException(ParseAddress(message)),
        RemoteErrorCode.EntityCapacityExceeded => new EntityCapacityExceededException(ParseAddress(message)),
        RemoteErrorCode.AlreadyProcessingMessage => new AlreadyProcessingMessageException(ParseAddress(message), 0),
        RemoteErrorCode.MalformedMessage => new MalformedMessageException(message),
        RemoteErrorCode.PersistenceError => new PersistenceException(message),
        RemoteErrorCode.RunnerUnavailable => new RunnerUnavailableException(message),
        RemoteErrorCode.UnknownEntityType => new UnknownEntityTypeException(message),
        RemoteErrorCode.EntityTypeNotRegistered when message.IndexOf(Separator) is var i and >= 0 => new EntityTypeNotRegisteredException(message[..i], message[(i + 1)..]),
        RemoteErrorCode.Interrupted => new OperationCanceledException(message),
        RemoteErrorCode.Unauthorized => new ClusterAuthenticationException(message),
        RemoteErrorCode.HandlerFailed when message.IndexOf(Separator) is var i and >= 0 => new EntityHandlerException(message[..i], message[(i + 1)..]),
        _ => new EntityHandlerException("remote", message),
    };

    private static string Address(EntityAddress address) =>
        string.Join(Separator, address.EntityType, address.EntityId, address.ShardId.ToString());

    private static EntityAddress ParseAddress(string value)
    {
        var parts = value.Split(Separator);
        return parts.Length == 3
            ? new EntityAddress(parts[0], parts[1], ShardId.Parse(parts[2]))
            : new EntityAddress("?", value, new ShardId("?", 1));
    }
}

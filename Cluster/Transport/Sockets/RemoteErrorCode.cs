namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>Error codes carried by Failure frames. Values are part of the wire format.</summary>
internal enum RemoteErrorCode : byte
{
    Internal = 0,
    EntityNotAssignedToRunner = 1,
    MailboxFull = 2,
    AlreadyProcessingMessage = 3,
    MalformedMessage = 4,
    PersistenceError = 5,
    RunnerUnavailable = 6,
    UnknownEntityType = 7,
    HandlerFailed = 8,
    Interrupted = 9,
    Unauthorized = 10,
    EntityTypeNotRegistered = 11,
    EntityCapacityExceeded = 12,
}

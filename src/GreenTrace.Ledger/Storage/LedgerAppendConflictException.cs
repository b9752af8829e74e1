namespace GreenTrace.Ledger.Storage;

/// <summary>
/// An append did not continue the log as the store holds it now: another writer (another process or store
/// instance on the same database) appended first. Nothing of the batch was written; the caller must reload its
/// view of the log before it appends again.
/// </summary>
public sealed class LedgerAppendConflictException : InvalidOperationException
{
    public LedgerAppendConflictException()
    {
    }

    public LedgerAppendConflictException(string message)
        : base(message)
    {
    }

    public LedgerAppendConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public LedgerAppendConflictException(long attemptedIndex, long nextIndex)
        : base($"append at index {attemptedIndex}, but the log continues at {nextIndex}: another writer appended first; reload and retry")
    {
        AttemptedIndex = attemptedIndex;
        NextIndex = nextIndex;
    }

    /// <summary>The index the batch started at.</summary>
    public long AttemptedIndex { get; }

    /// <summary>The index the log actually continues at.</summary>
    public long NextIndex { get; }
}

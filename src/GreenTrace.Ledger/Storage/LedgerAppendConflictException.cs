namespace GreenTrace.Ledger.Storage;

/// <summary>Another writer appended to the store first: the caller's indexes no longer continue the log.</summary>
public sealed class LedgerAppendConflictException(string message) : InvalidOperationException(message);

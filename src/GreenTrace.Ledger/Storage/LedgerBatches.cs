namespace GreenTrace.Ledger.Storage;

internal static class LedgerBatches
{
    /// <summary>
    /// A batch whose indexes do not follow one another is the caller's bug, not another writer's doing, so it is
    /// refused before the store is touched and is not a <see cref="LedgerAppendConflictException"/>.
    /// </summary>
    public static void CheckContiguous(IReadOnlyList<StoredEntry> entries)
    {
        for (var i = 1; i < entries.Count; i++)
        {
            if (entries[i].Index != entries[0].Index + i)
                throw new InvalidOperationException($"batch entry {i} has index {entries[i].Index}, but the batch starting at {entries[0].Index} must continue at {entries[0].Index + i}");
        }
    }
}

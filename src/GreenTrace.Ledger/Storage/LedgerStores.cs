using System.Text.RegularExpressions;

namespace GreenTrace.Ledger.Storage;

/// <summary>
/// Opens a ledger store from one setting: <c>sqlite:/path/ledger.db</c> or a plain path for SQLite;
/// <c>postgres:Host=...;Port=...;Database=...;Username=...[;Schema=node1]</c> for PostgreSQL.
/// </summary>
public static partial class LedgerStores
{
    public const string SqlitePrefix = "sqlite:";
    public const string PostgresPrefix = "postgres:";
    private const string Usage = $"give a path, {SqlitePrefix}PATH or {PostgresPrefix}Host=...;Port=...;Database=...;Username=...[;Schema=...]";

    public static ILedgerStore Open(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec))
            throw new ArgumentException($"the ledger store is not set: {Usage}", nameof(spec));
        if (spec.StartsWith(SqlitePrefix, StringComparison.OrdinalIgnoreCase))
        {
            var path = spec[SqlitePrefix.Length..];
            return path.Length > 0 ? new SqliteLedgerStore(path) : throw new ArgumentException($"'{spec}' names no file after {SqlitePrefix}: {Usage}", nameof(spec));
        }
        if (spec.StartsWith(PostgresPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var connection = spec[PostgresPrefix.Length..];
            return connection.Length > 0 ? new PostgresLedgerStore(connection) : throw new ArgumentException($"'{spec}' has no connection string after {PostgresPrefix}: {Usage}", nameof(spec));
        }
        // "word:..." that is none of the above is a store kind we do not know (postgresql:, file:, a URL), not a file name.
        if (Scheme().Match(spec) is { Success: true } scheme)
            throw new ArgumentException($"unknown ledger store kind '{scheme.Groups[1].Value}:' in '{Redact(spec)}': {Usage}", nameof(spec));
        return new SqliteLedgerStore(spec);
    }

    // Connection strings may carry a password; an error message must not.
    private static string Redact(string spec) => PasswordRegex().Replace(spec, "$1=***");

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9+.\-]+):")]
    private static partial Regex Scheme();

    [GeneratedRegex(@"(?i)(password|pwd)\s*=[^;]*")]
    private static partial Regex PasswordRegex();
}

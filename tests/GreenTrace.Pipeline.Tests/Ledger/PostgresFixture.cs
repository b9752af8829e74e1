using System.Diagnostics;
using GreenTrace.Pipeline.Tests.Support;
using Npgsql;

namespace GreenTrace.Pipeline.Tests.Ledger;

/// <summary>
/// A private PostgreSQL cluster for the tests of the <see cref="PostgresCollection"/>: scripts/postgres starts it
/// (initdb + pg_ctl, as the postgres OS user when we are root) in a temp directory on a free port of 127.0.0.1
/// and stops it by PID on dispose. Tests take a fresh schema or database from it. If PostgreSQL is not
/// installed, starting fails (never skips) and says to run scripts/install-test-deps.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private const string Missing = "run scripts/install-test-deps (it installs Debian's postgresql)";

    private readonly TempDirectory _temp = new();
    private string? _server;
    private int _databases;

    /// <summary>The server's maintenance database, as the postgres role.</summary>
    public string ServerConnectionString => _server ?? throw new InvalidOperationException("the PostgreSQL fixture is not started");

    /// <summary>A database created at start for tests that only need a schema of their own.</summary>
    public string Database { get; private set; } = "";

    public string Directory => _temp.Path;

    public async ValueTask InitializeAsync()
    {
        var (code, output) = await RunScriptAsync("start", _temp.Path);
        if (code != 0)
            throw new InvalidOperationException($"scripts/postgres start failed (exit {code}); {Missing}.\n{output}");
        _server = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        Database = CreateDatabase();
    }

    /// <summary>A new, empty database on the server; returns its connection string.</summary>
    public string CreateDatabase()
    {
        var name = $"greentrace_test_{Interlocked.Increment(ref _databases)}";
        using (var conn = new NpgsqlConnection(ServerConnectionString))
        {
            conn.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            cmd.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>A connection string to <see cref="Database"/> with a schema no other test uses.</summary>
    public string FreshSchema() => $"{Database};Schema=t_{Guid.NewGuid():N}";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_server is not null)
            {
                NpgsqlConnection.ClearAllPools();
                var (code, output) = await RunScriptAsync("stop", _temp.Path);
                if (code != 0)
                    throw new InvalidOperationException($"scripts/postgres stop failed (exit {code}):\n{output}");
            }
        }
        finally
        {
            _temp.Dispose();
        }
    }

    private static async Task<(int Code, string Output)> RunScriptAsync(string command, string directory)
    {
        var info = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(RepositoryRoot(), "scripts", "postgres"), command, directory },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not run bash scripts/postgres");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var wait = new CancellationTokenSource(Wait.SafetyNet * 2);
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"scripts/postgres {command} did not finish within {(Wait.SafetyNet * 2).TotalSeconds:0}s");
        }
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GreenTrace.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no GreenTrace.sln above {AppContext.BaseDirectory} to find scripts/postgres in");
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using GreenTrace.Cli.Ledger;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace ledger-bench</c>: entries/s appended and checkpointed by one ledger node on a store, with
/// every entry accepted (a run that measured rejections would flatter the figure, so it fails instead).
/// </summary>
public static class LedgerBenchCommand
{
    public static Command Create(CliConsole console)
    {
        var store = new Option<string>("--store") { Description = "Empty ledger store: sqlite:PATH, a path, or postgres:Host=...;Port=...;Database=...;Username=...[;Schema=...]", Required = true };
        var entries = new Option<int>("--entries") { Description = "Entries to append (default 100000)", DefaultValueFactory = _ => 100_000 };
        var batch = new Option<int>("--batch") { Description = "Entries per Submit (default 500)", DefaultValueFactory = _ => 500 };
        var every = new Option<int>("--checkpoint-every") { Description = "Sign a checkpoint at every multiple of this size (default 1000)", DefaultValueFactory = _ => 1000 };
        var record = new Option<FileInfo?>("--record") { Description = "Write a markdown section with the figures, the machine and an OpenSSL ECDSA verify baseline here" };
        var command = new Command("ledger-bench", "Time a ledger node appending a pre-signed stream of registrations, certificates, transfers, splits and claims, with checkpoints; report entries/s.")
        {
            store, entries, batch, every, record,
        };
        command.SetAction(parse =>
        {
            var options = new LedgerBenchOptions(parse.GetValue(store)!, parse.GetValue(entries), parse.GetValue(batch), parse.GetValue(every));
            if (options.Entries < 1 || options.Batch < 1 || options.CheckpointEvery < 1)
            {
                console.Error.WriteLine("error: --entries, --batch and --checkpoint-every must be positive");
                return ExitCodes.Unusable;
            }
            var loadBefore = LoadAverage();
            LedgerBenchResult result;
            try
            {
                result = LedgerBenchmark.Run(options, new Progress<string>(line => console.Error.WriteLine($"[ledger-bench] {line}")));
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or System.Data.Common.DbException)
            {
                console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Unusable;
            }
            var loadAfter = LoadAverage();
            var kind = StoreKind(options.Store);

            var w = console.Out;
            w.WriteLine(Invariant($"store: {kind}; {result.Entries:N0} entries in batches of {options.Batch}, a checkpoint every {options.CheckpointEvery} entries"));
            w.WriteLine("workload: " + Mix(result) + Invariant($"; signed before timing in {result.Signing.TotalSeconds:0.0} s"));
            w.WriteLine(result.AllAccepted
                ? Invariant($"accepted: {result.Accepted} of {result.Entries} (all)")
                : Invariant($"accepted: {result.Accepted} of {result.Entries}; REJECTED: ") + string.Join(", ", result.Rejections.Select(r => $"{r.Key} x{r.Value}")));
            w.WriteLine(Invariant($"appended and checkpointed: {result.Accepted:N0} entries in {result.Elapsed.TotalSeconds:0.00} s = {result.EntriesPerSecond:N0} entries/s"));
            w.WriteLine(Invariant($"checkpoints signed: {result.CheckpointsSigned} (Ed25519), the last at size {result.FinalCheckpointSize}{(result.FinalCheckpointVerifies ? ", verified" : ", DOES NOT VERIFY")}"));
            w.WriteLine("time split: " + Split(result));
            w.WriteLine($"load average (1/5/15 min): {loadBefore} before, {loadAfter} after, on {Environment.ProcessorCount} cores");

            string? baseline = null;
            if (parse.GetValue(record) is { } file)
            {
                var verifies = OpenSslVerifiesPerSecond();
                baseline = verifies is { } v ? Invariant($"{v:N0} verify/s") : "unavailable";
                w.WriteLine($"openssl speed -seconds 3 ecdsap256: {baseline}" + (verifies is { } r ? Invariant($"; ratio entries/s per verify/s = {result.EntriesPerSecond / r:0.00}") : ""));
                File.WriteAllText(file.FullName, Section(result, options, kind, loadBefore, loadAfter, verifies, LoadAverage()));
            }
            return result.AllAccepted && result.FinalCheckpointVerifies && result.FinalCheckpointSize == result.Entries ? ExitCodes.Ok : ExitCodes.Invalid;
        });
        return command;
    }

    private static string Section(LedgerBenchResult r, LedgerBenchOptions o, string kind, string loadBefore, string loadAfter, double? verifies, string loadEnd)
    {
        var sb = new StringBuilder();
        void L(string line) => sb.Append(line).Append('\n');
        L($"### {kind}");
        L("");
        L(Invariant($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({CpuModel()})."));
        L("");
        L("```");
        L(Invariant($"greentrace ledger-bench --store {(o.Store.StartsWith(LedgerStores.PostgresPrefix, StringComparison.OrdinalIgnoreCase) ? "postgres:…" : "sqlite:…")} --entries {o.Entries} --batch {o.Batch} --checkpoint-every {o.CheckpointEvery}"));
        L("```");
        L("");
        L("| figure | value |");
        L("|---|---|");
        L($"| workload | {Mix(r)}; signed before timing |");
        L(Invariant($"| accepted | {r.Accepted:N0} of {r.Entries:N0}{(r.AllAccepted ? " (all)" : " — REJECTIONS: " + string.Join(", ", r.Rejections.Select(x => $"{x.Key} x{x.Value}")))} |"));
        L(Invariant($"| **appended and checkpointed** | **{r.EntriesPerSecond:N0} entries/s** ({r.Accepted:N0} in {r.Elapsed.TotalSeconds:0.00} s, {r.Batches} batches) |"));
        L(Invariant($"| checkpoints | {r.CheckpointsSigned} signed (Ed25519), the last at size {r.FinalCheckpointSize:N0}{(r.FinalCheckpointVerifies ? ", verified" : ", does NOT verify")} |"));
        L($"| time split | {Split(r)} |");
        L($"| load average (1/5/15 min) | {loadBefore} before, {loadAfter} after the timed run, {loadEnd} after the baseline |");
        L($"| machine baseline | `openssl speed -seconds 3 ecdsap256`: {(verifies is { } v ? Invariant($"{v:N0} verify/s on one core") : "unavailable")} |");
        if (verifies is { } b)
            L(Invariant($"| ratio | entries/s ÷ OpenSSL verifies/s on one core = **{r.EntriesPerSecond / b:0.00}** (each entry is one ES256 verification; the node verifies a batch on all cores) |"));
        L("");
        return sb.ToString();
    }

    private static string Mix(LedgerBenchResult r) =>
        string.Join(", ", r.Mix.OrderBy(m => m.Key).Select(m => Invariant($"{m.Value:N0} {m.Key} ({100.0 * m.Value / r.Entries:0}%)")));

    private static string Split(LedgerBenchResult r)
    {
        var total = r.Elapsed.TotalSeconds;
        var parts = new (string Name, TimeSpan Time)[]
        {
            ("decode + verify (parallel)", r.DecodeAndVerify), ("rules", r.Rules), ("store append", r.StoreAppend),
            ("Merkle log", r.MerkleLog), ("checkpoints", r.Checkpoints),
        };
        var other = total - parts.Sum(p => p.Time.TotalSeconds);
        return string.Join(", ", parts.Select(p => Invariant($"{p.Name} {p.Time.TotalSeconds:0.00} s ({100 * p.Time.TotalSeconds / total:0}%)")))
            + Invariant($", other {other:0.00} s");
    }

    private static string StoreKind(string spec) =>
        spec.StartsWith(LedgerStores.PostgresPrefix, StringComparison.OrdinalIgnoreCase)
            ? "PostgreSQL (COPY BINARY, synchronous commits)"
            : "SQLite (WAL, synchronous=FULL)";

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    /// <summary>One core's ECDSA P-256 verifications per second by OpenSSL, run after the timed part so the two never compete.</summary>
    private static double? OpenSslVerifiesPerSecond()
    {
        try
        {
            var info = new ProcessStartInfo("openssl") { ArgumentList = { "speed", "-mr", "-seconds", "3", "ecdsap256" }, RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info);
            if (process is null)
                return null;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            // -mr: "+F4:<curve index>:<bits>:<sign/s>:<verify/s>"
            var line = (stdout + stderr.Result).Split('\n').FirstOrDefault(l => l.StartsWith("+F4:", StringComparison.Ordinal));
            return line is null ? null : double.Parse(line.Trim().Split(':')[4], CultureInfo.InvariantCulture);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

using System.CommandLine;
using System.Text.Json;
using GreenTrace.Core;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;

namespace GreenTrace.Cli.Commands;

/// <summary><c>greentrace verify BUNDLE --trust FILE</c>: the buyer's offline check.</summary>
public static class VerifyCommand
{
    public static Command Create(CliConsole console)
    {
        var bundleArg = new Argument<FileInfo>("bundle") { Description = "Proof bundle (JSON), as written by 'greentrace demo --out' or fetched from the API" };
        var trustOpt = new Option<FileInfo>("--trust") { Description = "Trusted membership: ledger node keys, quorum, issuers and their zones (trust.json)", Required = true };
        var jsonOpt = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("verify", "Check a proof bundle offline against trusted public keys. Exit 0 valid, 1 invalid, 2 unusable input.")
        {
            bundleArg, trustOpt, jsonOpt,
        };
        command.SetAction(parse => Run(console, parse.GetValue(bundleArg)!, parse.GetValue(trustOpt)!, parse.GetValue(jsonOpt)));
        return command;
    }

    public static int Run(CliConsole console, FileInfo bundleFile, FileInfo trustFile, bool json)
    {
        string bundleText, trustText;
        try
        {
            bundleText = File.ReadAllText(bundleFile.FullName);
            trustText = File.ReadAllText(trustFile.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Unusable(console, json, $"cannot read input: {e.Message}");
        }

        TrustedKeys trust;
        try
        {
            trust = new TrustedKeys(Membership.FromJson(trustText));
        }
        catch (FormatException e)
        {
            return Unusable(console, json, $"trust file {trustFile.Name}: {e.Message}");
        }

        using (trust)
        {
            var bundle = ProofBundle.FromJson(bundleText);
            if (!bundle.IsOk)
                return Unusable(console, json, $"bundle {bundleFile.Name}: {bundle.Error}");

            var report = ProofBundleVerifier.Verify(bundle.Value, trust);
            if (json)
                console.Out.WriteLine(JsonSerializer.Serialize(ToJson(report), JsonDefaults.Indented));
            else
                PrintHuman(console.Out, report);
            return report.IsValid ? ExitCodes.Ok : ExitCodes.Invalid;
        }
    }

    private static int Unusable(CliConsole console, bool json, string message)
    {
        if (json)
            console.Out.WriteLine(JsonSerializer.Serialize(new { valid = false, unusable = true, error = message }, JsonDefaults.Indented));
        console.Error.WriteLine($"error: {message}");
        return ExitCodes.Unusable;
    }

    private static void PrintHuman(TextWriter o, VerificationReport report)
    {
        o.WriteLine(report.IsValid ? "Proof bundle: VALID" : $"Proof bundle: INVALID (failed at step '{report.FirstFailure!.Step}')");
        foreach (var s in report.Steps)
            o.WriteLine($"  {(s.Passed ? "ok  " : "FAIL")} {s.Step,-22} {s.Detail}");
        if (!report.IsValid)
            return;
        var r = report.Reading!;
        var c = report.Certificate!;
        var d = report.Device!;
        o.WriteLine();
        o.WriteLine($"Reading      meter {r.MeterId}, #{r.Sequence}, {r.StartTime:yyyy-MM-dd HH:mm}–{r.EndTime:HH:mm} UTC, {Units.Energy(r.EnergyWh)} ({r.Quality})");
        o.WriteLine($"Certificate  {c.IdHex}");
        o.WriteLine($"             {Units.Energy(c.FaceValueWh)} {c.EnergyCarrier}, {c.EnergySource}/{c.Technology}, {c.GridZone} ({c.Country}), {DateTimeOffset.FromUnixTimeSeconds(c.PeriodStart):yyyy-MM-dd HH:mm}–{DateTimeOffset.FromUnixTimeSeconds(c.PeriodEnd):HH:mm} UTC");
        o.WriteLine($"             issued by {c.IssuingBody}, {c.ReadingCount} readings, expires {DateTimeOffset.FromUnixTimeSeconds(c.ExpiresAt):yyyy-MM-dd}");
        o.WriteLine($"Meter        {d.MeterId}, {Units.Power(d.CapacityW)} {d.EnergySource}/{d.Technology}, {d.GridZone} ({d.Country})");
        o.WriteLine($"Checkpoint   {report.Checkpoint!.Origin} size {report.Checkpoint.Size} root {Convert.ToBase64String(report.Checkpoint.RootHash)}");
    }

    private static object ToJson(VerificationReport report) => new
    {
        valid = report.IsValid,
        failedStep = report.FirstFailure?.Step,
        steps = report.Steps.Select(s => new { step = s.Step, passed = s.Passed, detail = s.Detail }),
        reading = report.Reading is { } r ? ReadingJson.From(r) : null,
        certificate = report.Certificate is { } c ? new
        {
            id = c.IdHex,
            meter = c.MeterId,
            periodStart = c.PeriodStart,
            periodEnd = c.PeriodEnd,
            part = c.Part,
            faceValueWh = c.FaceValueWh,
            energyCarrier = c.EnergyCarrier,
            energySource = c.EnergySource,
            technology = c.Technology,
            gridZone = c.GridZone,
            country = c.Country,
            issuingBody = c.IssuingBody,
            issuedAt = c.IssuedAt,
            expiresAt = c.ExpiresAt,
            readingCount = c.ReadingCount,
            readingRoot = Hex.Encode(c.ReadingRoot),
        } : null,
        checkpoint = report.Checkpoint is { } cp ? new { origin = cp.Origin, size = cp.Size, root = Convert.ToBase64String(cp.RootHash) } : null,
    };
}

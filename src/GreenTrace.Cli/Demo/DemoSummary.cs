using System.Globalization;
using GreenTrace.Api;
using GreenTrace.Cli.Commands;
using GreenTrace.FirmwareSim.Faults;
using Spectre.Console;

namespace GreenTrace.Cli.Demo;

internal static class DemoSummary
{
    public static void Print(IAnsiConsole console, DemoResult r)
    {
        static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
        static string Kwh(long wh) => (wh / 1000.0).ToString("N1", CultureInfo.InvariantCulture) + " kWh";

        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Summary[/]").AddColumn("").AddColumn(new TableColumn("").RightAligned());
        table.AddRow("Meters", N(r.Meters));
        table.AddRow("Simulated period (UTC)", $"{r.PeriodStart:yyyy-MM-dd HH:mm} – {r.PeriodEnd:yyyy-MM-dd HH:mm}");
        table.AddRow("Readings generated", N(r.ReadingsGenerated));
        table.AddRow("MQTT messages sent (incl. injected faults)", N(r.MessagesSent));
        table.AddRow("Faults injected → expected fate", N(r.FaultsInjected.Values.Sum()));
        foreach (var kind in FaultKinds.All.Where(k => r.FaultsInjected.GetValueOrDefault(k) > 0))
            table.AddRow($"  {kind.Code()} → {Markup.Escape(SimCommand.Expectation(kind))}", N(r.FaultsInjected[kind]));
        table.AddRow("Refused by the broker (wrong topic)", N(r.RefusedByBroker));
        table.AddRow("[green]Readings accepted[/]", N(r.Accepted));
        table.AddRow("[yellow]Readings rejected[/]", N(r.Rejected));
        foreach (var (reason, count) in r.RejectedByReason.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            table.AddRow($"  {Markup.Escape(reason)}", N(count));
        table.AddRow("Duplicates dropped", N(r.Duplicates));
        table.AddRow("Every fault met its expected fate", r.ReconciliationErrors.Any(e => e.StartsWith("faults:", StringComparison.Ordinal)) ? "[red]NO[/]" : "[green]yes[/]");
        table.AddRow("Energy accepted", Kwh(r.AcceptedWh));
        table.AddRow("[green]Certificates issued[/]", $"{N(r.Certificates)} ({N(r.SupplementaryCertificates)} supplementary)");
        table.AddRow("Energy certified", Kwh(r.CertifiedWh));
        table.AddRow("Ledger entries", $"{N(r.LedgerSize)} ({N(r.LedgerRejected)} refused)");
        table.AddRow("Checkpoint root", r.CheckpointRoot);
        table.AddRow("Books balance (accepted Wh = certified Wh, per meter)", r.ReconciliationErrors.Count == 0 ? "[green]yes[/]" : $"[red]NO ({r.ReconciliationErrors.Count} errors)[/]");
        if (r.Market.Claims > 0 || r.Market.Matching.Totals.ConsumptionWh > 0)
        {
            var m = r.Market.Matching.Totals;
            table.AddRow("Buyer's consumption (signed readings)", Kwh(m.ConsumptionWh));
            table.AddRow("Solar certificates traded → claimed", $"{N(r.Market.Transfers)} transfers, {N(r.Market.Splits)} splits → {N(r.Market.Claims)} claims, {Kwh(r.Market.ClaimedWh)}");
            table.AddRow("[green]Hourly (24/7) matching score[/]", m.Score is { } score ? $"{score:P1} ({Kwh(m.MatchedWh)} matched hour by hour)" : "no consumption");
        }
        table.AddRow("Proof bundle", r.BundleReport.IsValid ? "[green]valid[/]" : $"[red]INVALID at {Markup.Escape(r.BundleReport.FirstFailure!.Step)}[/]");
        table.AddRow("Elapsed", $"{r.Elapsed.TotalSeconds:0.0} s ({(r.Accepted / Math.Max(r.Elapsed.TotalSeconds, 0.001)).ToString("N0", CultureInfo.InvariantCulture)} readings/s end to end)");
        console.Write(table);

        foreach (var error in r.ReconciliationErrors.Take(20))
            console.MarkupLine($"[red]{Markup.Escape(error)}[/]");
        console.MarkupLine($"Bundle: [blue]{Markup.Escape(r.BundlePath)}[/]");
        console.MarkupLine($"Trust:  [blue]{Markup.Escape(r.TrustPath)}[/]");
        console.MarkupLine($"Check it yourself: [bold]greentrace verify {Markup.Escape(r.BundlePath)} --trust {Markup.Escape(r.TrustPath)}[/]");
        console.MarkupLine($"Explore it: [bold]greentrace api --demo {Markup.Escape(r.DataDirectory)}[/], then open [blue]{ApiHost.DefaultUrl}/[/]");
        console.MarkupLine($"  certificate {r.CertificateId}: [blue]{ApiHost.DefaultUrl}/api/certificates/{r.CertificateId}/bundle[/]");
        console.MarkupLine($"  buyer {r.BuyerOwnerId}: [blue]{ApiHost.DefaultUrl}/api/matching?owner={r.BuyerOwnerId}[/]");
    }
}

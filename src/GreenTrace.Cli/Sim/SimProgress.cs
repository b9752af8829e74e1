using System.Globalization;
using GreenTrace.Cli.Commands;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace GreenTrace.Cli.Sim;

/// <summary>The simulator's progress: a live table on a terminal, a plain line every few seconds anywhere else.</summary>
internal static class SimProgress
{
    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static async Task ShowAsync(IAnsiConsole console, SimulatorStats stats, RunPlan plan, int intervalSeconds, Func<Task> run, double lineSeconds, CancellationToken ct)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            var task = run();
            while (!task.IsCompleted)
            {
                await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(lineSeconds), CancellationToken.None)).ConfigureAwait(false);
                if (!task.IsCompleted)
                    console.WriteLine(Line(stats.Snapshot(), plan, intervalSeconds));
            }
            await task.ConfigureAwait(false);
            return;
        }
        await console.Live(Table(stats.Snapshot(), plan, intervalSeconds)).AutoClear(false).StartAsync(async live =>
        {
            var task = run();
            while (!task.IsCompleted)
            {
                await Task.WhenAny(task, Task.Delay(250, CancellationToken.None)).ConfigureAwait(false);
                live.UpdateTarget(Table(stats.Snapshot(), plan, intervalSeconds));
            }
            live.UpdateTarget(Table(stats.Snapshot(), plan, intervalSeconds));
            await task.ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private static string Simulated(SimulatorStatsSnapshot s, int intervalSeconds) =>
        s.LastIntervalStart is { } last ? $"{DateTimeOffset.FromUnixTimeSeconds(last + intervalSeconds):yyyy-MM-dd HH:mm}Z" : "-";

    private static string Intervals(SimulatorStatsSnapshot s, RunPlan plan) =>
        plan.Intervals == int.MaxValue ? N(s.IntervalsCompleted) : $"{N(s.IntervalsCompleted)}/{N(plan.Intervals)}";

    /// <summary>One line for logs and pipes.</summary>
    public static string Line(SimulatorStatsSnapshot s, RunPlan plan, int intervalSeconds) =>
        $"sim {Simulated(s, intervalSeconds)} · intervals {Intervals(s, plan)} · online {N(s.MetersOnline)}/{N(s.MetersTotal)} · readings {N(s.ReadingsGenerated)} generated, {N(s.ReadingsSent)} sent · " +
        $"acked {N(s.Acknowledged)} · buffered {N(s.Buffered)} · faults {N(s.FaultsInjected.Values.Sum())} · refused by broker {N(s.RefusedByBroker)}" +
        (s.Lag > TimeSpan.FromSeconds(1) ? $" · behind {s.Lag.TotalSeconds:0}s" : "");

    private static Table Table(SimulatorStatsSnapshot s, RunPlan plan, int intervalSeconds)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold green]GreenTrace fleet simulator[/]").HideHeaders().AddColumn("").AddColumn(new TableColumn("").RightAligned());
        table.AddRow("Simulated time", Simulated(s, intervalSeconds));
        table.AddRow("Intervals", Intervals(s, plan));
        table.AddRow("Meters online", $"{N(s.MetersOnline)}/{N(s.MetersTotal)}");
        table.AddRow("Readings generated / sent", $"{N(s.ReadingsGenerated)} / {N(s.ReadingsSent)}");
        table.AddRow("Messages acknowledged", N(s.Acknowledged));
        table.AddRow("Refused by the broker", N(s.RefusedByBroker));
        table.AddRow(s.Buffered > 0 ? "[yellow]Buffered[/]" : "Buffered", N(s.Buffered));
        table.AddRow("Dropped (buffer full)", N(s.DroppedFromBuffer));
        table.AddRow("Reconnect attempts", N(s.Retries));
        table.AddRow("Faults injected", N(s.FaultsInjected.Values.Sum()));
        foreach (var kind in FaultKinds.All.Where(k => s.FaultsInjected[k] > 0))
            table.AddRow($"  {kind.Code()} → {Markup.Escape(SimCommand.Expectation(kind))}", N(s.FaultsInjected[kind]));
        if (s.Lag > TimeSpan.FromSeconds(1))
            table.AddRow("[yellow]Behind schedule[/]", $"{s.Lag.TotalSeconds:0} s");
        return table;
    }

    public static void PrintSummary(IAnsiConsole console, SimulatorStatsSnapshot s, string outcome, TimeSpan elapsed, string? bufferDirectory)
    {
        IRenderable summary = new Rows(
            new Markup(Markup.Escape($"Run {outcome} after {elapsed.TotalSeconds:0.0} s: {N(s.ReadingsGenerated)} readings from {N(s.MetersTotal)} meters over {N(s.IntervalsCompleted)} intervals; " +
                $"{N(s.MessagesSent)} messages sent ({N(s.FaultsInjected.Values.Sum())} faults), {N(s.Acknowledged)} acknowledged, {N(s.RefusedByBroker)} refused by the broker.")),
            s.Buffered > 0
                ? new Markup($"[yellow]{N(s.Buffered)} messages are still buffered[/]{Markup.Escape(bufferDirectory is null ? "" : $" in {bufferDirectory}")}; the next run sends them first.")
                : new Markup("Nothing left buffered."));
        console.Write(summary);
        console.WriteLine();
        if (s.DroppedFromBuffer > 0)
            console.MarkupLine($"[red]{N(s.DroppedFromBuffer)} messages were dropped because a meter's buffer was full.[/]");
    }
}

using GreenTrace.Cli.Commands;
using GreenTrace.Cli.Demo;
using Spectre.Console;

namespace GreenTrace.Cli.Tests;

/// <summary>
/// One real demo run (small fleet, faults on) shared by the tests that need a ledger and a proof
/// bundle: the same code path as `greentrace demo`, in a temp directory.
/// </summary>
public sealed class DemoFixture : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "greentrace-cli-tests-" + Guid.NewGuid().ToString("N"));

    public DemoResult Result { get; private set; } = null!;

    public string Bundle => Path.Combine(Directory, "out", "bundle.json");

    public string Trust => Path.Combine(Directory, "out", "trust.json");

    public string Output { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var options = new DemoOptions
        {
            Meters = 12,
            Days = 1,
            Seed = 7,
            FaultRate = 0.02,
            DataDirectory = Path.Combine(Directory, "data"),
            OutputDirectory = Path.Combine(Directory, "out"),
            TimeoutSeconds = 300,
        };
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        Result = await new DemoRunner(options, DemoCommand.LoadConfiguration(), console).RunAsync(CancellationToken.None);
        DemoSummary.Print(console, Result);
        Output = writer.ToString();
    }

    public ValueTask DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

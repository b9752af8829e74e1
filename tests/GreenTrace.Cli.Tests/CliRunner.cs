namespace GreenTrace.Cli.Tests;

/// <summary>Runs <c>greentrace</c> in-process with captured streams, exactly as Program.cs does.</summary>
internal static class CliRunner
{
    public sealed record Outcome(int ExitCode, string Out, string Error);

    public static async Task<Outcome> RunAsync(string? stdin, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new CliConsole(new StringReader(stdin ?? ""), output, error);
        var code = await CliApp.RunAsync(args, console, TestContext.Current.CancellationToken);
        return new Outcome(code, output.ToString(), error.ToString());
    }
}

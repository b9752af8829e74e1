using GreenTrace.Cli;

return await CliApp.RunAsync(args, CliConsole.System).ConfigureAwait(false);

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace GreenTrace.Cli;

/// <summary>
/// Logs a service's counts at a fixed period (<paramref name="periodSetting"/> seconds, 10 by default), so an
/// operator tailing the log of a long-running command sees it work.
/// </summary>
internal abstract class PeriodicStatusReporter(IConfiguration configuration, string periodSetting) : BackgroundService
{
    protected abstract void Report();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromSeconds(Math.Max(1, configuration.GetValue(periodSetting, 10)));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                Report();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

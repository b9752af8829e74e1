using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GreenTrace.TimeSeries;

public static class TimeSeriesServiceCollectionExtensions
{
    /// <summary>
    /// Registers the time-series sink as a hosted service when section <c>TimeSeries</c> enables it
    /// (<c>Enabled: true</c>, or a <c>Url</c> without <c>Enabled: false</c>); otherwise registers
    /// nothing. The host must provide <see cref="Streaming.IStreamClientFactory"/> and
    /// <see cref="Core.Devices.IDeviceDirectory"/>. A configuration that cannot work stops the host at start.
    /// </summary>
    public static IServiceCollection AddTimeSeriesSink(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(TimeSeriesOptions.Section);
        var probe = new TimeSeriesOptions();
        section.Bind(probe);
        if (!probe.IsEnabled)
            return services;

        services.AddOptions<TimeSeriesOptions>()
            .Bind(section)
            .ValidateOnStart();
        services.TryAddSingleton<IValidateOptions<TimeSeriesOptions>, ProblemsValidator>();
        services.TryAddSingleton<TimeSeriesMetrics>();
        services.TryAddSingleton<IPointWriter>(sp => new InfluxPointWriter(sp.GetRequiredService<IOptions<TimeSeriesOptions>>().Value));
        services.AddHostedService<TimeSeriesService>();
        return services;
    }

    /// <summary>Names every problem at once, so a bad configuration is fixed in one go.</summary>
    private sealed class ProblemsValidator : IValidateOptions<TimeSeriesOptions>
    {
        public ValidateOptionsResult Validate(string? name, TimeSeriesOptions options)
        {
            var problems = options.Problems().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}

using GreenTrace.Core.Devices;
using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;
using GreenTrace.TimeSeries;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GreenTrace.Pipeline.Tests.TimeSeries;

public sealed class TimeSeriesRegistrationTests
{
    [Fact]
    public void The_example_configuration_binds_and_is_valid()
    {
        var example = Path.Combine(RepositoryRoot(), "src", "GreenTrace.TimeSeries", "appsettings.example.json");
        var configuration = new ConfigurationBuilder().AddJsonFile(example).Build();

        using var provider = Services(configuration).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<TimeSeriesOptions>>().Value;
        Assert.Equal(("https://influxdb.example.net:8086", "grid-operator", "greentrace", 5000), (options.Url, options.Org, options.Bucket, options.BatchSize));
        Assert.Single(provider.GetServices<IHostedService>().OfType<TimeSeriesService>());
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("http://127.0.0.1:8086", "false")]
    public void Without_a_url_or_when_disabled_nothing_is_registered(string? url, string? enabled)
    {
        var configuration = Configuration(("TimeSeries:Url", url), ("TimeSeries:Enabled", enabled));

        using var provider = Services(configuration).BuildServiceProvider();

        Assert.Empty(provider.GetServices<IHostedService>());
    }

    [Fact]
    public void A_configuration_that_cannot_work_names_every_problem()
    {
        var configuration = Configuration(("TimeSeries:Enabled", "true"), ("TimeSeries:Url", "influx:8086"), ("TimeSeries:BatchSize", "0"), ("TimeSeries:Bucket", ""));

        using var provider = Services(configuration).BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TimeSeriesOptions>>().Value);
        Assert.Contains(failure.Failures, f => f.Contains("TimeSeries:Url", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("TimeSeries:BatchSize", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("TimeSeries:Bucket", StringComparison.Ordinal));
    }

    private static ServiceCollection Services(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IStreamClientFactory>(new InProcessLog([new TopicSpec(Topics.Readings, 1), new TopicSpec(Topics.Ledger, 1)]));
        services.AddSingleton<IDeviceDirectory>(new DeviceDirectory());
        services.AddTimeSeriesSink(configuration);
        return services;
    }

    private static IConfiguration Configuration(params (string Key, string? Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Where(s => s.Value is not null).Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GreenTrace.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no GreenTrace.sln above {AppContext.BaseDirectory}");
    }
}

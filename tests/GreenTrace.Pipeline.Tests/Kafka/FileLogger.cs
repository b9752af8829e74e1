using Microsoft.Extensions.Logging;

namespace GreenTrace.Pipeline.Tests.Kafka;

public static class KafkaTestLog
{
    /// <summary>Set GREENTRACE_KAFKA_TEST_LOG to a file to get the adapter's and librdkafka's log there (add Client["debug"] for more).</summary>
    public static FileLoggerFactory? Factory { get; } =
        Environment.GetEnvironmentVariable("GREENTRACE_KAFKA_TEST_LOG") is { Length: > 0 } path ? new FileLoggerFactory(path) : null;
}

/// <summary>Every log line to one file, for reading after a failed Kafka test (librdkafka's "debug" output lands here too).</summary>
public sealed class FileLoggerFactory(string path) : ILoggerFactory
{
    private readonly Lock _gate = new();

    public string Path { get; } = path;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        lock (_gate)
            File.AppendAllText(Path, line + "\n");
    }

    private sealed class Logger(FileLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            factory.Write($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }
}

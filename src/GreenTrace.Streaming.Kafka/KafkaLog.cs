using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace GreenTrace.Streaming.Kafka;

/// <summary>A Kafka client failed in a way the caller must handle (not delivered, fatal client error).</summary>
public sealed class KafkaStreamException : Exception
{
    public KafkaStreamException()
    {
    }

    public KafkaStreamException(string message)
        : base(message)
    {
    }

    public KafkaStreamException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

internal static class KafkaLog
{
    /// <summary>librdkafka's own log lines (by default only warnings and errors; "debug" in Client adds more).</summary>
    public static void Write(ILogger logger, LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
            SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        // The 0.9 profile needs these two settings; their deprecation (librdkafka 3 drops 0.9) is known
        // and documented in docs/kafka.md, so it need not warn on every client created.
        if (message.Facility == "CONFWARN" && (message.Message.Contains("api.version.request", StringComparison.Ordinal) || message.Message.Contains("broker.version.fallback", StringComparison.Ordinal)))
            level = LogLevel.Debug;
        if (logger.IsEnabled(level))
            logger.Log(level, "librdkafka {Name} {Facility}: {Message}", message.Name, message.Facility, message.Message);
    }
}

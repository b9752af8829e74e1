using GreenTrace.FirmwareSim.Faults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace GreenTrace.FirmwareSim;

public enum PublishOutcome
{
    /// <summary>PUBACK with a success code (Success or NoMatchingSubscribers).</summary>
    Acknowledged,

    /// <summary>PUBACK with a failure code, e.g. NotAuthorized from a topic ACL.</summary>
    RefusedByBroker,
}

/// <summary>What happened to one published message, for observers such as a verbose log or a test.</summary>
public sealed record PublishedMessage(MeterMessage Message, string Topic, PublishOutcome Outcome, MqttClientPublishReasonCode ReasonCode, string? ReasonString);

/// <summary>
/// Publishes a fleet's readings over MQTT the way the meters would: one MQTT 5 client per meter (client
/// id = meter id, persistent session), each reading at QoS 1 on the meter's topic, waiting for the
/// PUBACK. Interval t is published for every meter before interval t+1, so downstream watermarks
/// advance. A meter that cannot reach the broker keeps its messages and sends them, in order, once it can.
/// </summary>
public sealed class FleetPublisher : IAsyncDisposable
{
    private const int ReplayHistory = 32;
    private const string CoseContentType = "application/cose; cose-type=\"cose-sign1\"";

    private readonly Fleet _fleet;
    private readonly SimulatorOptions _options;
    private readonly FaultInjector? _faults;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly MeterSession[] _sessions;
    private int _running;
    private bool _disposed;
    private volatile bool _clientsReleased;

    /// <param name="fleet">Not owned: the caller disposes it (and may save it after a run to resume later).</param>
    public FleetPublisher(Fleet fleet, SimulatorOptions options, FaultOptions? faults = null, ILogger<FleetPublisher>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _fleet = fleet;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        if (faults is not null && faults.Any)
            _faults = new FaultInjector(faults, fleet.Seed, fleet.Meters.Select(m => m.Id));

        var factory = new MqttClientFactory();
        _sessions = [.. fleet.Meters.Select(m => new MeterSession(m, factory.CreateMqttClient(), BuildClientOptions(m.Id), options.MaxBufferedPerMeter))];
        Stats = new SimulatorStats(fleet.Meters.Count, () => _clientsReleased ? 0 : _sessions.Count(s => s.Client.IsConnected));
    }

    public SimulatorStats Stats { get; }

    /// <summary>
    /// Raised after each PUBACK, from publishing tasks running in parallel: handlers must be thread-safe
    /// and quick. Exceptions they throw are logged and otherwise ignored.
    /// </summary>
    public event Action<PublishedMessage>? MessagePublished;

    /// <summary>Connects every meter that is not connected yet; meters that fail stay offline and retry each interval.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentConnects, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(_sessions, parallel, async (session, ct) =>
        {
            if (!session.Client.IsConnected)
                await TryConnectAsync(session, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes every interval of the plan for every meter, pacing by <see cref="RunPlan.Speed"/>, then
    /// tries once more to flush what offline meters buffered. Cancellation stops between messages.
    /// </summary>
    public async Task RunAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var clock = new SimulationClock(plan, _fleet.IntervalSeconds, _time);
        foreach (var meter in _fleet.Meters)
        {
            if (meter.State.LastIntervalEnd is { } end && end > clock.FirstIntervalStart)
                throw new ArgumentException(
                    $"meter '{meter.Id}' has already read up to {DateTimeOffset.FromUnixTimeSeconds(end):u}; start the run at or after that", nameof(plan));
        }
        if (Interlocked.Exchange(ref _running, 1) != 0)
            throw new InvalidOperationException("this publisher is already running");
        try
        {
            await ConnectAsync(cancellationToken).ConfigureAwait(false);
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentPublishes, CancellationToken = cancellationToken };
            clock.Start();
            for (var i = 0; i < plan.Intervals; i++)
            {
                await clock.WaitUntilDueAsync(i, cancellationToken).ConfigureAwait(false);
                Stats.SetLag(clock.Lag(i));
                var start = clock.IntervalStart(i);
                await Parallel.ForEachAsync(_sessions, parallel, (session, ct) => new ValueTask(PublishIntervalAsync(session, start, ct)))
                    .ConfigureAwait(false);
                Stats.IntervalCompleted(start);
            }
            await Parallel.ForEachAsync(_sessions.Where(s => s.Buffered > 0), parallel, (session, ct) => new ValueTask(DrainAsync(session, ct)))
                .ConfigureAwait(false);
            if (Stats.Buffered > 0)
                _logger.LogWarning("Run ended with {Buffered} messages still buffered by meters that could not reach the broker", Stats.Buffered);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Disconnects every meter with a normal DISCONNECT (the broker keeps the sessions for their expiry).</summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        var disconnect = new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentConnects, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(_sessions, parallel, async (session, ct) =>
        {
            if (!session.Client.IsConnected)
                return;
            try
            {
                await session.Client.DisconnectAsync(disconnect, ct).ConfigureAwait(false);
            }
            catch (MqttCommunicationException e)
            {
                _logger.LogDebug(e, "Meter {MeterId} did not disconnect cleanly", session.Meter.Id);
            }
        }).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            // Disposal must not hang on a dead broker; a bounded, clean disconnect is best effort.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
            await DisconnectAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _logger.LogDebug("Disconnect timed out during disposal");
        }
        _clientsReleased = true;
        foreach (var session in _sessions)
            session.Client.Dispose();
        _faults?.Dispose();
    }

    private MqttClientOptions BuildClientOptions(string meterId)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(meterId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            // Persistent session: a meter that reconnects resumes the session the broker kept for it.
            .WithCleanStart(false)
            .WithSessionExpiryInterval(_options.SessionExpirySeconds)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(_options.KeepAliveSeconds))
            .WithTimeout(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
        if (!string.IsNullOrEmpty(_options.Username))
            builder.WithCredentials(_options.Username.Replace(SimulatorOptions.MeterIdPlaceholder, meterId, StringComparison.Ordinal), _options.Password ?? "");
        if (_options.UseTls)
        {
            builder.WithTlsOptions(tls => tls
                .UseTls()
                .WithAllowUntrustedCertificates(_options.AllowUntrustedCertificates)
                .WithIgnoreCertificateChainErrors(_options.AllowUntrustedCertificates)
                .WithTargetHost(_options.Host));
        }
        return builder.Build();
    }

    private async Task PublishIntervalAsync(MeterSession session, long intervalStart, CancellationToken cancellationToken)
    {
        var meter = session.Meter;
        var genuine = meter.NextSignedReading(intervalStart);
        Stats.ReadingGenerated();
        session.Enqueue(new MeterMessage(meter.Id, meter.Id, genuine.Encoded, null, genuine.Reading), Stats);
        if (_faults is not null)
        {
            foreach (var fault in _faults.Inject(meter, genuine, session.History))
            {
                Stats.FaultInjected(fault.Fault!.Value);
                session.Enqueue(fault, Stats);
            }
        }
        session.Remember(genuine, ReplayHistory);
        await DrainAsync(session, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the meter's buffered messages in order; stops at the first one that cannot get through.</summary>
    private async Task DrainAsync(MeterSession session, CancellationToken cancellationToken)
    {
        while (session.TryPeek(out var pending))
        {
            if (!await PublishAsync(session, pending, cancellationToken).ConfigureAwait(false))
            {
                Stats.PublishFailed();
                return;
            }
            session.Dequeue(Stats);
        }
    }

    /// <summary>True once the broker answered (acknowledged or refused); false when the connection kept failing.</summary>
    private async Task<bool> PublishAsync(MeterSession session, PendingMessage pending, CancellationToken cancellationToken)
    {
        var message = pending.Message;
        var topic = _options.Topic(message.TopicMeterId);
        var application = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(message.Payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(CoseContentType)
            .Build();

        for (var attempt = 1; attempt <= _options.MaxPublishAttempts; attempt++)
        {
            if (attempt > 1)
            {
                Stats.Retry();
                await Task.Delay(TimeSpan.FromMilliseconds(_options.RetryDelayMilliseconds * (attempt - 1)), _time, cancellationToken).ConfigureAwait(false);
            }
            if (!session.Client.IsConnected && !await TryConnectAsync(session, cancellationToken).ConfigureAwait(false))
                continue;
            if (!pending.Sent)
            {
                pending.Sent = true;
                Stats.MessageSent(message.Fault is null);
            }
            MqttClientPublishResult result;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(_options.PublishTimeoutSeconds));
                result = await session.Client.PublishAsync(application, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                _logger.LogDebug("Meter {MeterId}: no PUBACK within {Seconds}s on attempt {Attempt}", message.PublisherId, _options.PublishTimeoutSeconds, attempt);
                continue;
            }
            catch (MqttCommunicationException e)
            {
                _logger.LogDebug(e, "Meter {MeterId}: publish attempt {Attempt} failed", message.PublisherId, attempt);
                continue;
            }

            PublishOutcome outcome;
            if (result.IsSuccess)
            {
                Stats.MessageAcknowledged();
                outcome = PublishOutcome.Acknowledged;
            }
            else
            {
                // The broker has decided; sending the same bytes again would only be refused again.
                Stats.MessageRefused();
                outcome = PublishOutcome.RefusedByBroker;
                _logger.LogInformation("Meter {MeterId}: broker refused publish to {Topic}: {ReasonCode} {ReasonString}",
                    message.PublisherId, topic, result.ReasonCode, result.ReasonString);
            }
            Notify(new PublishedMessage(message, topic, outcome, result.ReasonCode, result.ReasonString));
            return true;
        }
        return false;
    }

    private async Task<bool> TryConnectAsync(MeterSession session, CancellationToken cancellationToken)
    {
        try
        {
            var result = await session.Client.ConnectAsync(session.Options, cancellationToken).ConfigureAwait(false);
            if (result.ResultCode == MqttClientConnectResultCode.Success)
                return true;
            _logger.LogWarning("Meter {MeterId}: broker refused the connection: {ResultCode} {Reason}", session.Meter.Id, result.ResultCode, result.ReasonString);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogDebug("Meter {MeterId}: connect timed out", session.Meter.Id);
        }
        catch (MqttConnectingFailedException e)
        {
            // The broker answered and said no (bad credentials, not authorised): worth more than a debug line.
            _logger.LogWarning("Meter {MeterId}: broker refused the connection: {Reason}", session.Meter.Id, e.Message);
        }
        catch (MqttCommunicationException e)
        {
            _logger.LogDebug(e, "Meter {MeterId}: connect failed", session.Meter.Id);
        }
        Stats.ConnectFailed();
        return false;
    }

    private void Notify(PublishedMessage published)
    {
        var handler = MessagePublished;
        if (handler is null)
            return;
        try
        {
            handler(published);
        }
        catch (Exception e)
        {
            // An observer's bug must not stop the fleet or look like a publish failure.
            _logger.LogError(e, "MessagePublished handler threw");
        }
    }

    private sealed class PendingMessage(MeterMessage message)
    {
        public MeterMessage Message { get; } = message;

        /// <summary>Whether it has been handed to the client once, so retries are not counted as new messages.</summary>
        public bool Sent { get; set; }
    }

    /// <summary>One meter's connection, its outgoing buffer, and the history replays pick from.</summary>
    private sealed class MeterSession(VirtualMeter meter, IMqttClient client, MqttClientOptions options, int capacity)
    {
        private readonly Queue<PendingMessage> _buffer = new();
        private readonly List<SignedReading> _history = [];

        public VirtualMeter Meter { get; } = meter;

        public IMqttClient Client { get; } = client;

        public MqttClientOptions Options { get; } = options;

        public int Buffered => _buffer.Count;

        public IReadOnlyList<SignedReading> History => _history;

        public void Enqueue(MeterMessage message, SimulatorStats stats)
        {
            _buffer.Enqueue(new PendingMessage(message));
            stats.BufferChanged(1);
            while (_buffer.Count > capacity)
            {
                _buffer.Dequeue();
                stats.BufferChanged(-1);
                stats.BufferOverflow();
            }
        }

        public bool TryPeek(out PendingMessage pending) => _buffer.TryPeek(out pending!);

        public void Dequeue(SimulatorStats stats)
        {
            _buffer.Dequeue();
            stats.BufferChanged(-1);
        }

        public void Remember(SignedReading reading, int keep)
        {
            _history.Add(reading);
            if (_history.Count > keep)
                _history.RemoveAt(0);
        }
    }
}

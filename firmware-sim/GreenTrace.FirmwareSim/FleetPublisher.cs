using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim.Faults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Polly;
using Polly.Retry;

namespace GreenTrace.FirmwareSim;

public enum PublishOutcome
{
    /// <summary>PUBACK with a success code (Success or NoMatchingSubscribers).</summary>
    Acknowledged,

    /// <summary>
    /// PUBACK with a failure code, e.g. NotAuthorized from a topic ACL; or, over MQTT 3.1.1 (which has no PUBACK
    /// codes), the broker closing the connection on a publish to another device's topic, as IoT Hub does.
    /// </summary>
    RefusedByBroker,
}

/// <summary>What happened to one published message, for observers such as a verbose log or a test.</summary>
public sealed record PublishedMessage(MeterMessage Message, string Topic, PublishOutcome Outcome, MqttClientPublishReasonCode ReasonCode, string? ReasonString);

/// <summary>
/// Publishes a fleet's readings over MQTT the way the meters would: one client per meter (client id = meter id,
/// persistent session), each reading at QoS 1 on the meter's topic, waiting for the PUBACK. Interval t is published
/// for every reachable meter before interval t+1, so downstream watermarks advance. Every message goes through the
/// meter's store-and-forward buffer (on disk with <see cref="SimulatorOptions.BufferDirectory"/>) and leaves it only
/// once the broker has answered; a meter that loses the broker reconnects in the background with exponential backoff
/// and jitter while the others carry on, and sends its backlog, oldest first, before anything newer.
/// </summary>
public sealed class FleetPublisher : IAsyncDisposable
{
    /// <summary>The MQTT 5 content type of a reading (in IoT Hub mode, the $.ct property).</summary>
    public const string CoseContentType = "application/cose; cose-type=\"cose-sign1\"";

    private readonly Fleet _fleet;
    private readonly SimulatorOptions _options;
    private readonly FaultInjector? _faults;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly MeterSession[] _sessions;
    private readonly ResiliencePipeline<bool> _reconnect;
    private readonly X509Certificate2Collection? _trustAnchors;
    private readonly CancellationTokenSource _lifetime = new();
    private int _running;
    private bool _disposed;
    private volatile bool _clientsReleased;

    /// <param name="fleet">Not owned: the caller disposes it (and may save it after a run to resume later).</param>
    /// <exception cref="ArgumentException">The options are inconsistent, or the CA file holds no certificate.</exception>
    /// <exception cref="IOException">The buffer directory cannot be read or written.</exception>
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
            _faults = new FaultInjector(faults, fleet.Seed, fleet.Meters.Select(m => m.Id), _time);
        if (options.CaFile is not null)
            _trustAnchors = LoadTrustAnchors(options.CaFile);

        var factory = new MqttClientFactory();
        _sessions = [.. fleet.Meters.Select(m => new MeterSession(
            m,
            factory.CreateMqttClient(),
            options.BufferDirectory is { } dir ? MeterOutbox.Open(dir, m.Id, options.MaxBufferedPerMeter, options.SyncBufferWrites) : MeterOutbox.InMemory(m.Id, options.MaxBufferedPerMeter),
            _faults?.NewHistory()))];
        Stats = new SimulatorStats(fleet.Meters.Count, () => _clientsReleased ? 0 : _sessions.Count(s => s.Client.IsConnected));
        try
        {
            foreach (var session in _sessions)
                Recover(session);
        }
        catch
        {
            foreach (var session in _sessions)
            {
                session.Client.Dispose();
                session.Gate.Dispose();
            }
            _faults?.Dispose();
            _lifetime.Dispose();
            throw;
        }

        _reconnect = new ResiliencePipelineBuilder<bool> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<bool>
            {
                ShouldHandle = new PredicateBuilder<bool>().HandleResult(connected => !connected),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(options.ReconnectBaseDelayMilliseconds),
                MaxDelay = TimeSpan.FromMilliseconds(options.ReconnectMaxDelayMilliseconds),
                OnRetry = _ =>
                {
                    Stats.Retry();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public SimulatorStats Stats { get; }

    /// <summary>
    /// Raised after the broker answered a message, from publishing tasks running in parallel: handlers must be
    /// thread-safe and quick. Exceptions they throw are logged and otherwise ignored.
    /// </summary>
    public event Action<PublishedMessage>? MessagePublished;

    /// <summary>Connects every meter that is not connected yet; meters that fail keep trying in the background.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentConnects, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(_sessions, parallel, async (session, ct) =>
        {
            if (session.Client.IsConnected || session.IsReconnecting)
                return;
            bool connected;
            await session.Gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                connected = session.Client.IsConnected || await TryConnectAsync(session, ct).ConfigureAwait(false);
            }
            finally
            {
                session.Gate.Release();
            }
            if (!connected)
                StartReconnecting(session);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes every interval of the plan for every meter, pacing by <see cref="RunPlan.Speed"/>, then tries once
    /// more to flush what offline meters buffered. Cancellation stops between messages; what was not acknowledged
    /// stays buffered.
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
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            if (Stats.Buffered > 0)
                _logger.LogWarning("Run ended with {Buffered} messages still buffered by meters that could not reach the broker", Stats.Buffered);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// One immediate attempt (no backoff wait) by every meter with buffered messages to connect and send them all.
    /// Meters that still cannot reach the broker keep their messages and keep reconnecting in the background.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentPublishes, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(_sessions.Where(s => s.Outbox.Count > 0), parallel, async (session, ct) =>
        {
            if (!await DrainAsync(session, ct).ConfigureAwait(false))
                StartReconnecting(session);
        }).ConfigureAwait(false);
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
        await _lifetime.CancelAsync().ConfigureAwait(false);
        foreach (var session in _sessions)
        {
            if (session.Reconnector is { } reconnector)
                await reconnector.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
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
        {
            session.Client.Dispose();
            session.Gate.Dispose();
        }
        _faults?.Dispose();
        _lifetime.Dispose();
    }

    /// <summary>Counts what an earlier run left in the buffer, and moves the meter past readings it made but the fleet file missed.</summary>
    private void Recover(MeterSession session)
    {
        var outbox = session.Outbox;
        if (outbox.DiscardedTailBytes > 0)
            _logger.LogWarning("Meter {MeterId}: cut {Bytes} torn bytes off the end of {Path}", session.Meter.Id, outbox.DiscardedTailBytes, outbox.Path);
        if (outbox.Recovered == 0)
            return;
        Stats.BufferRecovered(outbox.Recovered);
        if (outbox.DroppedOnOpen > 0)
        {
            Stats.BufferChanged(-outbox.DroppedOnOpen);
            Stats.BufferOverflow(outbox.DroppedOnOpen);
        }
        if (outbox.NewestGenuine() is { Reading: { } newest } message)
        {
            // A buffer left by another fleet with the same meter ids (one re-created in place) would send readings the
            // registry cannot verify and move this meter's counters; better to stop than to publish it.
            using var key = session.Meter.Device.ImportPublicKey();
            if (!ReadingCodec.DecodeAndVerify(message.Payload, key).IsOk)
                throw new ArgumentException($"the buffer {outbox.Path} holds readings that meter '{session.Meter.Id}' of this fleet did not sign; it belongs to another fleet (move it away)");
            if (session.Meter.CatchUp(newest))
            {
                _logger.LogWarning("Meter {MeterId}: its buffer holds readings up to sequence {Sequence} that the fleet file does not know (a run that did not save its fleet); continuing from there",
                    session.Meter.Id, newest.Sequence);
            }
        }
        _logger.LogInformation("Meter {MeterId}: {Count} buffered messages from an earlier run go out first", session.Meter.Id, outbox.Count);
    }

    private MqttClientOptions BuildClientOptions(VirtualMeter meter)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.BrokerHost, _options.BrokerPort)
            .WithClientId(meter.Id)
            // Persistent session: a meter that reconnects resumes the session the broker kept for it.
            .WithCleanStart(false)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(_options.KeepAliveSeconds))
            .WithTimeout(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
        if (_options.IsIotHub)
        {
            var host = IotHub.HostName(_options.IotHub!);
            // A fresh token at every connect: the hub disconnects a device when its token expires, and the reconnect renews it.
            var expiry = _time.GetUtcNow().AddMinutes(_options.SasTokenLifetimeMinutes).ToUnixTimeSeconds();
            builder.WithProtocolVersion(MqttProtocolVersion.V311)
                .WithCredentials(IotHub.UserName(host, meter.Id), IotHub.SasToken(IotHub.ResourceUri(host, meter.Id), meter.IotHubDeviceKey(), expiry));
        }
        else
        {
            builder.WithProtocolVersion(MqttProtocolVersion.V500).WithSessionExpiryInterval(_options.SessionExpirySeconds);
            if (!string.IsNullOrEmpty(_options.Username))
                builder.WithCredentials(_options.Username.Replace(SimulatorOptions.MeterIdPlaceholder, meter.Id, StringComparison.Ordinal), _options.Password ?? meter.MqttPassword());
        }
        if (_options.IsTls)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost(_options.BrokerHost);
                // MQTTnet builds the chain against these CAs alone; the name is still checked. A private CA rarely
                // publishes revocation lists a meter could reach, so the trust anchor is the whole policy.
                if (_trustAnchors is { } anchors)
                    tls.WithTrustChain(anchors).WithRevocationMode(X509RevocationMode.NoCheck);
                else if (_options.AllowUntrustedCertificates)
                    tls.WithAllowUntrustedCertificates().WithIgnoreCertificateChainErrors();
            });
        }
        return builder.Build();
    }

    private static X509Certificate2Collection LoadTrustAnchors(string caFile)
    {
        var anchors = new X509Certificate2Collection();
        try
        {
            anchors.ImportFromPemFile(caFile);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"CA file '{caFile}' is not PEM certificates: {e.Message}", e);
        }
        if (anchors.Count == 0)
            throw new ArgumentException($"CA file '{caFile}' holds no certificate");
        return anchors;
    }

    private async Task PublishIntervalAsync(MeterSession session, long intervalStart, CancellationToken cancellationToken)
    {
        var meter = session.Meter;
        var genuine = meter.NextSignedReading(intervalStart);
        Stats.ReadingGenerated();
        var faults = _faults is not null && session.History is { } history ? _faults.Inject(meter, genuine, history) : InjectedFaults.None;
        foreach (var fault in faults.Before)
            Enqueue(session, fault);
        Enqueue(session, new MeterMessage(meter.Id, meter.Id, genuine.Encoded, null, genuine.Reading));
        foreach (var fault in faults.After)
            Enqueue(session, fault);
        session.History?.Remember(genuine);

        // A meter waiting to reconnect leaves its messages to the reconnect loop instead of holding up the interval;
        // once that loop has connected, the interval joins in behind it (the gate keeps the order).
        if (session.IsReconnecting && !session.Client.IsConnected)
            return;
        if (!await DrainAsync(session, cancellationToken).ConfigureAwait(false))
            StartReconnecting(session);
    }

    private void Enqueue(MeterSession session, MeterMessage message)
    {
        if (message.Fault is { } kind)
            Stats.FaultInjected(kind);
        var dropped = session.Outbox.Enqueue(message);
        Stats.BufferChanged(1 - dropped);
        if (dropped > 0)
            Stats.BufferOverflow(dropped);
    }

    /// <summary>Sends the meter's buffered messages in order; false when the broker cannot be reached (the rest stay buffered).</summary>
    private async Task<bool> DrainAsync(MeterSession session, CancellationToken cancellationToken)
    {
        await session.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (session.Outbox.TryPeek(out var pending))
            {
                if (!session.Client.IsConnected && !await TryConnectAsync(session, cancellationToken).ConfigureAwait(false))
                    break;
                var outcome = await PublishAsync(session, pending, cancellationToken).ConfigureAwait(false);
                if (outcome is null)
                    break;
                session.Outbox.RemoveHead();
                Stats.BufferChanged(-1);
                if (outcome == PublishOutcome.Acknowledged)
                    Stats.MessageAcknowledged();
                else
                    Stats.MessageRefused();
            }
            if (session.Outbox.Count == 0)
                return true;
        }
        finally
        {
            session.Gate.Release();
        }
        Stats.PublishFailed();
        return false;
    }

    /// <summary>The broker's answer, or null when the connection failed before it gave one.</summary>
    private async Task<PublishOutcome?> PublishAsync(MeterSession session, PendingMessage pending, CancellationToken cancellationToken)
    {
        var message = pending.Message;
        var topic = _options.Topic(message.TopicMeterId);
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(message.Payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        // MQTT 3.1.1 has no content type; IoT Hub mode carries it in the topic's property bag instead.
        if (!_options.IsIotHub)
            builder.WithContentType(CoseContentType);
        var application = builder.Build();

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
        catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (message.Fault == FaultKind.WrongTopic && _options.IsIotHub)
            {
                // MQTT 3.1.1 has no way to refuse one publish: IoT Hub closes the connection instead. Resending would
                // only be refused again, so the refusal is final, like a NotAuthorized PUBACK.
                _logger.LogInformation("Meter {MeterId}: the hub closed the connection on a publish to {Topic}", message.PublisherId, topic);
                Notify(new PublishedMessage(message, topic, PublishOutcome.RefusedByBroker, MqttClientPublishReasonCode.NotAuthorized, "connection closed by the broker"));
                return PublishOutcome.RefusedByBroker;
            }
            _logger.LogDebug(e, "Meter {MeterId}: publish failed or no PUBACK within {Seconds}s", message.PublisherId, _options.PublishTimeoutSeconds);
            // The connection may look alive while it is not; drop it so the next attempt starts afresh and resends.
            if (session.Client.IsConnected)
                await DropConnectionAsync(session).ConfigureAwait(false);
            return null;
        }

        if (result.IsSuccess)
        {
            Notify(new PublishedMessage(message, topic, PublishOutcome.Acknowledged, result.ReasonCode, result.ReasonString));
            return PublishOutcome.Acknowledged;
        }
        // The broker has decided; sending the same bytes again would only be refused again.
        _logger.LogInformation("Meter {MeterId}: broker refused publish to {Topic}: {ReasonCode} {ReasonString}",
            message.PublisherId, topic, result.ReasonCode, result.ReasonString);
        Notify(new PublishedMessage(message, topic, PublishOutcome.RefusedByBroker, result.ReasonCode, result.ReasonString));
        return PublishOutcome.RefusedByBroker;
    }

    private async Task DropConnectionAsync(MeterSession session)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
            await session.Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException)
        {
            _logger.LogDebug(e, "Meter {MeterId}: disconnect after a lost PUBACK failed", session.Meter.Id);
        }
    }

    /// <summary>One connect attempt; the caller holds the session's gate.</summary>
    private async Task<bool> TryConnectAsync(MeterSession session, CancellationToken cancellationToken)
    {
        try
        {
            var result = await session.Client.ConnectAsync(BuildClientOptions(session.Meter), cancellationToken).ConfigureAwait(false);
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
        catch (InvalidOperationException e)
        {
            // The broker has just closed the connection (Mosquitto does after refusing a publish) and the client is
            // still tearing it down: not a failure of the broker, so the reconnect loop simply tries again shortly.
            _logger.LogDebug(e, "Meter {MeterId}: connect attempted while the last connection was still closing", session.Meter.Id);
        }
        Stats.ConnectFailed();
        return false;
    }

    /// <summary>Starts the meter's background reconnect loop unless one is running.</summary>
    private void StartReconnecting(MeterSession session)
    {
        if (_disposed)
            return;
        lock (session)
        {
            if (session.IsReconnecting)
                return;
            session.Reconnector = Task.Run(() => ReconnectLoopAsync(session, _lifetime.Token));
        }
    }

    /// <summary>Reconnects with exponential backoff and jitter until the backlog is delivered or the publisher is disposed.</summary>
    private async Task ReconnectLoopAsync(MeterSession session, CancellationToken cancellationToken)
    {
        try
        {
            do
            {
                await _reconnect.ExecuteAsync(async ct =>
                {
                    await session.Gate.WaitAsync(ct).ConfigureAwait(false);
                    try
                    {
                        return session.Client.IsConnected || await TryConnectAsync(session, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        session.Gate.Release();
                    }
                }, cancellationToken).ConfigureAwait(false);
            }
            while (!await DrainAsync(session, cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Meter {MeterId}: reconnect loop failed; its messages stay buffered", session.Meter.Id);
        }
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

    /// <summary>One meter's connection, its outbox, and what the fault injector remembers of it.</summary>
    private sealed class MeterSession(VirtualMeter meter, IMqttClient client, MeterOutbox outbox, FaultHistory? history)
    {
        public VirtualMeter Meter { get; } = meter;

        public IMqttClient Client { get; } = client;

        public MeterOutbox Outbox { get; } = outbox;

        public FaultHistory? History { get; } = history;

        /// <summary>Serialises connecting and draining: one meter's messages leave strictly in order.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public Task? Reconnector { get; set; }

        public bool IsReconnecting => Reconnector is { IsCompleted: false };
    }
}

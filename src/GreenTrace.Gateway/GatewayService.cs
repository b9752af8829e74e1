using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using GreenTrace.Core.Readings;
using GreenTrace.Gateway.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;
using Polly;
using Polly.Retry;

namespace GreenTrace.Gateway;

/// <summary>
/// Takes readings from the MQTT broker, validates them, and hands them to the store: the readings
/// stream (keyed by meter) or the rejected stream (with the reason code and the raw bytes). A message
/// is acknowledged to the broker only after the store has it durably, so a crash redelivers, never loses.
/// </summary>
public sealed class GatewayService : BackgroundService
{
    private readonly GatewayOptions _options;
    private readonly ReadingValidator _validator;
    private const int MaxAppendAttempts = 8;

    private readonly IGatewayStore _store;
    private readonly ILogger<GatewayService> _logger;
    private readonly ResiliencePipeline _connectRetry;
    private IMqttClient? _client;
    private readonly Channel<PendingAck> _acks = Channel.CreateUnbounded<PendingAck>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private volatile bool _subscribed;
    private volatile bool _handOffFailed;

    public GatewayService(IOptions<GatewayOptions> options, ReadingValidator validator, IGatewayStore store, ILogger<GatewayService> logger)
    {
        _options = options.Value;
        _options.Validate();
        _validator = validator;
        _store = store;
        _logger = logger;
        _connectRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(15),
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
                OnRetry = a =>
                {
                    _logger.LogWarning("Cannot reach the MQTT broker at {Host}:{Port} ({Error}); retrying in {Delay}", _options.BrokerHost, _options.BrokerPort, a.Outcome.Exception?.Message, a.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public GatewayStats Stats { get; } = new();

    /// <summary>True while connected and subscribed to the readings topics.</summary>
    public bool IsSubscribed => _subscribed && _client?.IsConnected == true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var acknowledging = AcknowledgeDurableAsync();
        using var client = new MqttClientFactory().CreateMqttClient();
        _client = client;
        client.ApplicationMessageReceivedAsync += OnMessageAsync;

        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.BrokerHost, _options.BrokerPort)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            // A persistent session: while the gateway restarts the broker queues its QoS 1 readings.
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpirySeconds)
            .WithCredentials(_options.Username, _options.Password);
        if (_options.UseTls)
            builder.WithBrokerTls(_options.TlsServerName ?? _options.BrokerHost, _options.CaFile);
        var options = builder.Build();
        var filter = _options.SharedSubscriptionGroup is { } group ? $"$share/{group}/{TopicRules.ReadingsFilter}" : TopicRules.ReadingsFilter;

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (_handOffFailed && client.IsConnected)
                {
                    // MQTT redelivers unacknowledged messages only on a new connection of the same session,
                    // so reconnect; the broker then resends, in order, everything from the failed one on.
                    _logger.LogWarning("Reconnecting so the broker redelivers the readings not handed to the stream");
                    await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), stoppingToken).ConfigureAwait(false);
                }
                if (!client.IsConnected)
                {
                    _subscribed = false;
                    _handOffFailed = false;
                    await _connectRetry.ExecuteAsync(async ct =>
                    {
                        _subscribed = false;
                        var connected = await client.ConnectAsync(options, ct).ConfigureAwait(false);
                        if (connected.ResultCode != MqttClientConnectResultCode.Success)
                            throw new InvalidOperationException($"broker refused the gateway: {connected.ResultCode}");
                        var subscribed = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct).ConfigureAwait(false);
                        var code = subscribed.Items.First().ResultCode;
                        if (code > MqttClientSubscribeResultCode.GrantedQoS2)
                        {
                            // Disconnect so the next attempt starts from a clean connect, not a connected client.
                            await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), ct).ConfigureAwait(false);
                            throw new InvalidOperationException($"broker refused the subscription to {filter}: {code}");
                        }
                        _subscribed = true;
                        _logger.LogInformation("Gateway {ClientId} subscribed to {Filter}", _options.ClientId, filter);
                    }, stoppingToken).ConfigureAwait(false);
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Verdicts already recorded are made durable and acknowledged before the connection closes.
            _acks.Writer.TryComplete();
            await acknowledging.ConfigureAwait(false);
            if (client.IsConnected)
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        e.AutoAcknowledge = false;
        // After a failed hand-off nothing more is taken on this connection: acknowledging later
        // readings would let the broker redeliver the failed one after them, out of sequence.
        if (_handOffFailed)
            return;
        var message = e.ApplicationMessage;
        var started = Stopwatch.GetTimestamp();
        // Copy out of MQTTnet's buffer (the bytes outlive this callback on the stream). An oversized message keeps
        // its first bytes only: enough to investigate on the rejected stream, not enough to flood it.
        var oversized = message.Payload.Length > _options.MaxReadingBytes;
        var payload = (oversized ? message.Payload.Slice(0, _options.MaxReadingBytes) : message.Payload).ToArray();
        try
        {
            var outcome = await HandOffAsync(message.Topic, payload, oversized ? message.Payload.Length : null, started).ConfigureAwait(false);
            // Acknowledged once a flush has made the verdict durable; meanwhile the next message is handled.
            _acks.Writer.TryWrite(new PendingAck(e, outcome, started));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not acknowledged: the broker redelivers it to this session after the reconnect the main loop now makes.
            _handOffFailed = true;
            _logger.LogError(ex, "Could not hand reading from {Topic} to the store; leaving it unacknowledged", message.Topic);
        }
    }

    /// <summary>
    /// Group commit: waits for verdicts, makes every one recorded so far durable with one flush, then sends their
    /// PUBACKs in the order the messages came. A failed flush acknowledges nothing; the main loop reconnects and
    /// the broker sends those messages again (what was recorded after all is then a duplicate).
    /// </summary>
    private async Task AcknowledgeDurableAsync()
    {
        var batch = new List<PendingAck>();
        while (await _acks.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (_acks.Reader.TryRead(out var pending))
                batch.Add(pending);
            try
            {
                await _store.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // As above: a failed flush is reported by reconnecting, never by ending the pump.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _handOffFailed = true;
                _logger.LogError(ex, "Could not make {Count} verdicts durable; leaving them unacknowledged", batch.Count);
                continue;
            }
            Stats.Flushed(batch.Count);
            foreach (var pending in batch)
            {
                Stats.Count(pending.Outcome, Stopwatch.GetElapsedTime(pending.Started).TotalMilliseconds);
                try
                {
                    await pending.Message.AcknowledgeAsync(CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // Whatever the client throws, the pump must live on: a dead pump would acknowledge nothing again.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    // The connection it came on is gone: the broker sends it again and it is recognised then.
                    _logger.LogDebug(ex, "PUBACK for a message from {Topic} not sent", pending.Message.ApplicationMessage.Topic);
                }
            }
        }
    }

    private sealed record PendingAck(MqttApplicationMessageReceivedEventArgs Message, ValidationOutcome Outcome, long Started);

    /// <summary>Validates and records one message; returns the verdict once the store has it durably.</summary>
    private async Task<ValidationOutcome> HandOffAsync(string topic, byte[] payload, long? oversizedLength, long started)
    {
        for (var attempt = 1; ; attempt++)
        {
            var outcome = oversizedLength is { } length
                ? ValidationOutcome.Reject(GatewayReasons.SizeLimit, $"{length} bytes exceeds the {_options.MaxReadingBytes}-byte limit", TopicRules.MeterOfTopic(topic))
                : _validator.Validate(topic, payload);
            Stats.Verified(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            switch (outcome.Verdict)
            {
                case Verdict.Accepted:
                    if (await _store.TryAppendAcceptedAsync(outcome.Reading!, outcome.LastSequence, _options.ClientId, CancellationToken.None).ConfigureAwait(false))
                        return outcome;
                    // Another gateway accepted a reading of this meter since the validation: validate against the new history.
                    Stats.LostRace();
                    if (attempt >= MaxAppendAttempts)
                        throw new InvalidOperationException($"meter '{outcome.MeterId}': history kept changing over {attempt} attempts");
                    break;
                case Verdict.Duplicate:
                    await _store.RecordDuplicateAsync(outcome.Reading!.Reading, _options.ClientId, CancellationToken.None).ConfigureAwait(false);
                    return outcome;
                default:
                    var record = new RejectedReading(outcome.Rejection!.Code, outcome.Rejection.Message, _options.ClientId, topic, outcome.MeterId, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), payload);
                    await _store.AppendRejectedAsync(record, CancellationToken.None).ConfigureAwait(false);
                    return outcome;
            }
            started = Stopwatch.GetTimestamp();
        }
    }
}

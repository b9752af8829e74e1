using System.Security.Cryptography;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim.Profiles;
using GreenTrace.FirmwareSim.Randomness;

namespace GreenTrace.FirmwareSim;

/// <summary>A meter's mutable state: what it will number its next reading, and its register.</summary>
/// <param name="LastIntervalEnd">End of the last interval read, or null before the first reading.</param>
public sealed record MeterState(ulong NextSequence, ulong RegisterWh, long? LastIntervalEnd)
{
    public static MeterState Initial(ulong registerWh) => new(1, registerWh, null);
}

/// <summary>A reading and the exact COSE_Sign1 bytes the meter signed.</summary>
public sealed record SignedReading(Reading Reading, byte[] Encoded);

/// <summary>
/// One simulated smart meter: a device identity with its P-256 signing key, a profile saying how much
/// energy flows, and the state a real meter keeps (sequence counter, cumulative register).
/// </summary>
public sealed class VirtualMeter : IDisposable
{
    private readonly ECDsa _key;
    private readonly Lock _gate = new();
    private MeterState _state;
    private readonly Queue<(MeterState Before, SignedReading Signed, MeterState After)> _signedAhead = new();

    /// <param name="privateKey">The meter's ES256 key; the meter takes ownership and disposes it.</param>
    /// <param name="estimatedRate">Share of readings flagged estimated (q = "e"), in [0, 1].</param>
    /// <param name="qualitySeed">Seeds which intervals are estimated, independently of the energy profile.</param>
    public VirtualMeter(DeviceInfo device, ECDsa privateKey, ProfileSpec profile, int intervalSeconds, MeterState state,
        double estimatedRate = 0, ulong qualitySeed = 0)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(privateKey);
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(state);
        if (!MeterId.IsValid(device.MeterId))
            throw new ArgumentException($"invalid meter id '{device.MeterId}'", nameof(device));
        if (intervalSeconds <= 0 || intervalSeconds > 3600 || 3600 % intervalSeconds != 0)
            throw new ArgumentOutOfRangeException(nameof(intervalSeconds), intervalSeconds, "the interval must divide one hour");
        if (estimatedRate is not (>= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(estimatedRate), estimatedRate, "the estimated rate must be in [0, 1]");
        if (state.NextSequence == 0)
            throw new ArgumentException("sequence numbers start at 1", nameof(state));
        if (state.LastIntervalEnd is { } end && end % intervalSeconds != 0)
            throw new ArgumentException("the last interval end is not aligned to the interval", nameof(state));
        // A key that does not match the registered public key would make every reading fail verification downstream.
        if (!privateKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(device.PublicKey))
            throw new ArgumentException($"the private key of meter '{device.MeterId}' does not match its registered public key", nameof(privateKey));

        Device = device;
        _key = privateKey;
        ProfileSpec = profile;
        Profile = profile.Create(device.CapacityW, device.LatitudeMicrodegrees / 1e6, device.LongitudeMicrodegrees / 1e6);
        IntervalSeconds = intervalSeconds;
        EstimatedRate = estimatedRate;
        QualitySeed = qualitySeed;
        _state = state;
    }

    public string Id => Device.MeterId;

    public DeviceInfo Device { get; }

    public ProfileSpec ProfileSpec { get; }

    public IEnergyProfile Profile { get; }

    public int IntervalSeconds { get; }

    public double EstimatedRate { get; }

    public ulong QualitySeed { get; }

    public MeterState State
    {
        get
        {
            lock (_gate)
                return _state;
        }
    }

    /// <summary>Reads the interval starting at <paramref name="intervalStart"/> and returns the signed COSE_Sign1 bytes.</summary>
    public byte[] NextReading(long intervalStart) => NextSignedReading(intervalStart).Encoded;

    /// <summary>
    /// Reads one interval: energy from the profile, register advanced by it, sequence incremented, then
    /// signed. Intervals must be aligned and move forward; a gap is allowed (the meter was off).
    /// </summary>
    public SignedReading NextSignedReading(long intervalStart)
    {
        if (intervalStart < 0 || intervalStart % IntervalSeconds != 0)
            throw new ArgumentException($"interval start {intervalStart} is not aligned to {IntervalSeconds}s", nameof(intervalStart));
        lock (_gate)
        {
            if (_signedAhead.TryPeek(out var ahead))
            {
                if (ahead.Signed.Reading.Start == intervalStart && ahead.Before == _state)
                {
                    _signedAhead.Dequeue();
                    _state = ahead.After;
                    return ahead.Signed;
                }
                _signedAhead.Clear(); // the run went elsewhere: sign as usual
            }
            if (_state.LastIntervalEnd is { } lastEnd && intervalStart < lastEnd)
                throw new InvalidOperationException(
                    $"meter '{Id}' already read up to {DateTimeOffset.FromUnixTimeSeconds(lastEnd):u}; interval {DateTimeOffset.FromUnixTimeSeconds(intervalStart):u} is in its past");
            var end = intervalStart + IntervalSeconds;
            var wh = Profile.EnergyWh(intervalStart, IntervalSeconds);
            var register = checked(_state.RegisterWh + wh);
            var quality = Mix.Unit(QualitySeed, intervalStart) < EstimatedRate ? ReadingQuality.Estimated : ReadingQuality.Measured;
            var reading = new Reading(Id, _state.NextSequence, intervalStart, end, wh, register, Device.Direction, quality);
            var encoded = ReadingCodec.Sign(reading, _key);
            _state = new MeterState(checked(_state.NextSequence + 1), register, end);
            return new SignedReading(reading, encoded);
        }
    }

    /// <summary>
    /// Signs the next <paramref name="count"/> consecutive intervals from <paramref name="firstStart"/> now, so that
    /// <see cref="NextSignedReading"/> hands them out later without signing. A load test uses it to keep the meters'
    /// own work (the signature is made on the meter's chip) off the machine whose throughput it measures. The
    /// readings are exactly those <see cref="NextSignedReading"/> would make.
    /// </summary>
    public void SignAhead(long firstStart, int count)
    {
        lock (_gate)
        {
            _signedAhead.Clear();
            var state = _state;
            for (var i = 0; i < count; i++)
            {
                var start = firstStart + ((long)i * IntervalSeconds);
                var wh = Profile.EnergyWh(start, IntervalSeconds);
                var register = checked(state.RegisterWh + wh);
                var quality = Mix.Unit(QualitySeed, start) < EstimatedRate ? ReadingQuality.Estimated : ReadingQuality.Measured;
                var reading = new Reading(Id, state.NextSequence, start, start + IntervalSeconds, wh, register, Device.Direction, quality);
                var after = new MeterState(checked(state.NextSequence + 1), register, start + IntervalSeconds);
                _signedAhead.Enqueue((state, new SignedReading(reading, ReadingCodec.Sign(reading, _key)), after));
                state = after;
            }
        }
    }

    /// <summary>The private key as PKCS#8 DER, for the fleet file.</summary>
    public byte[] ExportPrivateKeyPkcs8()
    {
        lock (_gate)
            return _key.ExportPkcs8PrivateKey();
    }

    /// <summary>This meter's MQTT password (see <see cref="MeterCredentials"/>).</summary>
    public string MqttPassword()
    {
        lock (_gate)
            return MeterCredentials.Password(Id, _key);
    }

    /// <summary>This meter's IoT Hub device key (see <see cref="MeterCredentials.IotHubDeviceKey"/>).</summary>
    public byte[] IotHubDeviceKey()
    {
        lock (_gate)
            return MeterCredentials.IotHubDeviceKey(Id, _key);
    }

    public byte[] IotHubSecondaryDeviceKey()
    {
        lock (_gate)
            return MeterCredentials.IotHubSecondaryDeviceKey(Id, _key);
    }

    /// <summary>
    /// Moves the meter's state forward to what a store-and-forward buffer shows it had already read (readings made
    /// before a crash that the fleet file, saved only at the end of a run, does not know). Never moves it back.
    /// </summary>
    /// <returns>True if the state moved.</returns>
    internal bool CatchUp(Reading lastRead)
    {
        ArgumentNullException.ThrowIfNull(lastRead);
        lock (_gate)
        {
            if (lastRead.Sequence < _state.NextSequence || lastRead.End % IntervalSeconds != 0)
                return false;
            _state = new MeterState(checked(lastRead.Sequence + 1), lastRead.RegisterWh, lastRead.End);
            return true;
        }
    }

    /// <summary>Signs an arbitrary reading with this meter's key without touching its state (fault injection).</summary>
    internal byte[] SignDetached(Reading reading)
    {
        // ECDsa instances are not documented as thread-safe; the gate serialises every use of the key.
        lock (_gate)
            return ReadingCodec.Sign(reading, _key);
    }

    public void Dispose() => _key.Dispose();
}

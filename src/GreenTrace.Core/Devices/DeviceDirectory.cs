using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace GreenTrace.Core.Devices;

/// <summary>Registered meters by id, as the gateway and the aggregator look them up.</summary>
public interface IDeviceDirectory
{
    DeviceInfo? Find(string meterId);

    /// <summary>The meter's imported verification key, cached: importing costs more than verifying.</summary>
    ECDsa? FindKey(string meterId);
}

/// <summary>An in-memory directory, filled from the registry file or the ledger's registrations.</summary>
public sealed class DeviceDirectory : IDeviceDirectory, IDisposable
{
    private readonly ConcurrentDictionary<string, (DeviceInfo Device, Lazy<ECDsa> Key)> _devices = new(StringComparer.Ordinal);

    public DeviceDirectory(IEnumerable<DeviceInfo>? devices = null)
    {
        foreach (var d in devices ?? [])
            Add(d);
    }

    public int Count => _devices.Count;

    public void Add(DeviceInfo device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var entry = (device, new Lazy<ECDsa>(device.ImportPublicKey, LazyThreadSafetyMode.ExecutionAndPublication));
        if (!_devices.TryAdd(device.MeterId, entry))
            throw new ArgumentException($"meter '{device.MeterId}' is already in the directory", nameof(device));
    }

    public DeviceInfo? Find(string meterId) => _devices.TryGetValue(meterId, out var e) ? e.Device : null;

    public ECDsa? FindKey(string meterId) => _devices.TryGetValue(meterId, out var e) ? e.Key.Value : null;

    public IEnumerable<DeviceInfo> All => _devices.Values.Select(v => v.Device);

    public void Dispose()
    {
        foreach (var (_, key) in _devices.Values)
        {
            if (key.IsValueCreated)
                key.Value.Dispose();
        }
    }
}

using System.Security.Cryptography;
using System.Text.Json.Nodes;
using GreenTrace.Core.Readings;

namespace GreenTrace.Cli.Tests;

public sealed class ReadingCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greentrace-reading-").FullName;
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly Reading _reading = new("dk1-solar-0001", 42, 1_700_000_100 - (1_700_000_100 % 900), 1_700_000_100 - (1_700_000_100 % 900) + 900, 1234, 567_890, EnergyDirection.Generation, ReadingQuality.Measured);

    public void Dispose()
    {
        _key.Dispose();
        Directory.Delete(_dir, true);
    }

    [Fact]
    public async Task GoodReadingPrintsJsonAndExitsZero()
    {
        var (file, pem) = Write(ReadingCodec.Sign(_reading, _key), _key);
        var r = await CliRunner.RunAsync(null, "reading", "verify", file, "--public-key", pem);
        Assert.Equal(0, r.ExitCode);
        var json = JsonNode.Parse(r.Out)!;
        Assert.Equal("dk1-solar-0001", json["m"]!.GetValue<string>());
        Assert.Equal(42UL, json["seq"]!.GetValue<ulong>());
        Assert.Equal(1234UL, json["wh"]!.GetValue<ulong>());
        Assert.Equal("gen", json["dir"]!.GetValue<string>());
    }

    [Fact]
    public async Task ForgedReadingExitsOneWithReasonCode()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (file, pem) = Write(ReadingCodec.Sign(_reading, other), _key);
        var r = await CliRunner.RunAsync(null, "reading", "verify", file, "--public-key", pem);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(ReadingReasons.SignatureInvalid, r.Error);
    }

    [Fact]
    public async Task MalformedReadingExitsOneWithReasonCode()
    {
        var (file, pem) = Write([0xD2, 0x84, 0x01], _key);
        var r = await CliRunner.RunAsync(null, "reading", "verify", file, "--public-key", pem);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(ReadingReasons.CoseMalformed, r.Error);
    }

    [Fact]
    public async Task UnusableKeyOrFileExitsTwo()
    {
        var (file, _) = Write(ReadingCodec.Sign(_reading, _key), _key);
        var badPem = Path.Combine(_dir, "bad.pem");
        await File.WriteAllTextAsync(badPem, "not a key", TestContext.Current.CancellationToken);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "reading", "verify", file, "--public-key", badPem)).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "reading", "verify", Path.Combine(_dir, "missing"), "--public-key", badPem)).ExitCode);
    }

    private (string File, string Pem) Write(byte[] cose, ECDsa key)
    {
        var file = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".cose");
        File.WriteAllBytes(file, cose);
        var pem = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".pem");
        File.WriteAllText(pem, key.ExportSubjectPublicKeyInfoPem());
        return (file, pem);
    }
}

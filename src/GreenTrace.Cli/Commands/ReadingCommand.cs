using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;

namespace GreenTrace.Cli.Commands;

/// <summary><c>greentrace reading verify FILE --public-key PEM</c>: check one reading from any firmware.</summary>
public static class ReadingCommand
{
    public static Command Create(CliConsole console)
    {
        var fileArg = new Argument<FileInfo>("file") { Description = "One reading: the raw COSE_Sign1 bytes" };
        var keyOpt = new Option<FileInfo>("--public-key") { Description = "The meter's public key, PEM SubjectPublicKeyInfo", Required = true };
        var verify = new Command("verify", "Decode a reading, print it as JSON, and check its format and signature. Exit 0 valid, 1 invalid (reason code on stderr), 2 unusable input.")
        {
            fileArg, keyOpt,
        };
        verify.SetAction(parse => Verify(console, parse.GetValue(fileArg)!, parse.GetValue(keyOpt)!));
        return new Command("reading", "Work with single signed meter readings.") { verify };
    }

    public static int Verify(CliConsole console, FileInfo file, FileInfo publicKey)
    {
        byte[] bytes;
        ECDsa key;
        try
        {
            bytes = File.ReadAllBytes(file.FullName);
            key = DeviceKeys.ImportPublicKeyPem(File.ReadAllText(publicKey.FullName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or FormatException)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Unusable;
        }
        using (key)
        {
            var decoded = ReadingCodec.Decode(bytes);
            if (!decoded.IsOk)
            {
                console.Error.WriteLine($"invalid: {decoded.Error}");
                return ExitCodes.Invalid;
            }
            console.Out.WriteLine(JsonSerializer.Serialize(ReadingJson.From(decoded.Value.Reading), JsonDefaults.Indented));
            var bad = decoded.Value.VerifySignature(key);
            if (bad is not null)
            {
                console.Error.WriteLine($"invalid: {bad}");
                return ExitCodes.Invalid;
            }
            return ExitCodes.Ok;
        }
    }
}

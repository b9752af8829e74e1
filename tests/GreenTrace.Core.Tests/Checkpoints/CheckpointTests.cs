using System.Security.Cryptography;
using GreenTrace.Core.Checkpoints;

namespace GreenTrace.Core.Tests.Checkpoints;

public class CheckpointTests
{
    private static readonly byte[] Root = SHA256.HashData("root"u8);
    private static readonly string RootB64 = Convert.ToBase64String(Root);

    [Fact]
    public void RoundTripsWithAndWithoutExtensions()
    {
        var plain = new Checkpoint("greentrace.example/log", 0, Root);
        var extended = new Checkpoint("greentrace.example/log", 1234, Root, ["ext one", "\u2014 looks like a signature"]);

        foreach (var checkpoint in new[] { plain, extended })
        {
            var text = checkpoint.ToNoteText();
            Assert.True(Checkpoint.TryParse(text, out var parsed, out var error), error);
            Assert.Equal(checkpoint, parsed);
            Assert.Equal(checkpoint.GetHashCode(), parsed.GetHashCode());
        }

        Assert.Equal($"greentrace.example/log\n0\n{RootB64}\n", plain.ToNoteText());
        Assert.Equal($"greentrace.example/log\n1234\n{RootB64}\next one\n\u2014 looks like a signature\n", extended.ToNoteText());
    }

    [Fact]
    public void EqualityComparesContents()
    {
        Assert.Equal(new Checkpoint("o", 1, Root.ToArray(), ["x"]), new Checkpoint("o", 1, Root.ToArray(), new List<string> { "x" }));
        Assert.NotEqual(new Checkpoint("o", 1, Root), new Checkpoint("o", 1, SHA256.HashData("other"u8)));
        Assert.NotEqual(new Checkpoint("o", 1, Root), new Checkpoint("o", 1, Root, ["x"]));
    }

    [Theory]
    [InlineData("origin\n01\n{root}\n", "leading zero")]
    [InlineData("origin\n00\n{root}\n", "leading zero")]
    [InlineData("origin\n-5\n{root}\n", "not a decimal")]
    [InlineData("origin\n+5\n{root}\n", "not a decimal")]
    [InlineData("origin\n 5\n{root}\n", "not a decimal")]
    [InlineData("origin\n\n{root}\n", "not a decimal")]
    [InlineData("origin\n5.0\n{root}\n", "not a decimal")]
    [InlineData("origin\n٣\n{root}\n", "not a decimal")]
    [InlineData("origin\n9223372036854775808\n{root}\n", "too large")]
    [InlineData("Log\n3438945738945739845734895735\n{root}\n", "too large")]
    [InlineData("origin\n5\nYmFuYW5hcw==\n", "7 bytes")]
    [InlineData("origin\n5\n{root}AAAA\n", "base64")]
    [InlineData("origin\n5\nAAAA{root}\n", "35 bytes")]
    [InlineData("origin\n5\nThisIsn'tBase64\n", "base64")]
    [InlineData("origin\n5\n{rootNoPad}\n", "base64")]
    [InlineData("origin\n5\n{root}", "newline")]
    [InlineData("origin\n5\n{root}\n\n", "extension")]
    [InlineData("origin\n5\n{root}\next\n\nmore\n", "extension")]
    [InlineData("\n5\n{root}\n", "origin")]
    [InlineData("Head\n9944\n", "needs origin")]
    [InlineData("origin\r\n5\n{root}\n", "characters")]
    [InlineData("", "newline")]
    public void RejectsInvalidText(string template, string expectedError)
    {
        var text = template
            .Replace("{rootNoPad}", RootB64.TrimEnd('='), StringComparison.Ordinal)
            .Replace("{root}", RootB64, StringComparison.Ordinal);

        Assert.False(Checkpoint.TryParse(text, out var checkpoint, out var error));
        Assert.Null(checkpoint);
        Assert.Contains(expectedError, error, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptsLargestSizeAndZero()
    {
        Assert.True(Checkpoint.TryParse($"o\n{long.MaxValue}\n{RootB64}\n", out var max, out _));
        Assert.Equal(long.MaxValue, max.Size);
        Assert.True(Checkpoint.TryParse($"o\n0\n{RootB64}\n", out var zero, out _));
        Assert.Equal(0, zero.Size);
    }

    [Fact]
    public void ToNoteTextRefusesFieldsThatWouldNotRoundTrip()
    {
        Assert.Throws<InvalidOperationException>(() => new Checkpoint("", 1, Root).ToNoteText());
        Assert.Throws<InvalidOperationException>(() => new Checkpoint("a\nb", 1, Root).ToNoteText());
        Assert.Throws<InvalidOperationException>(() => new Checkpoint("o", -1, Root).ToNoteText());
        Assert.Throws<InvalidOperationException>(() => new Checkpoint("o", 1, new byte[31]).ToNoteText());
        Assert.Throws<InvalidOperationException>(() => new Checkpoint("o", 1, Root, [""]).ToNoteText());
        Assert.Throws<InvalidOperationException>(() => new Checkpoint("o", 1, Root, ["a\nb"]).ToNoteText());
    }
}

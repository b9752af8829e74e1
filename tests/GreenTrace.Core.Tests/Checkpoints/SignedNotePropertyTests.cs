using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using FsCheck.Xunit;
using GreenTrace.Core.Checkpoints;

namespace GreenTrace.Core.Tests.Checkpoints;

public class SignedNotePropertyTests
{
    [Property(MaxTest = 200)]
    public bool SignThenOpenVerifies(string? rawText, string? rawName, int keySalt, byte keyCount)
    {
        var text = ToNoteText(rawText);
        var signers = Signers(rawName, keySalt, keyCount);
        try
        {
            var result = SignedNote.Open(SignedNote.Sign(text, signers), signers.Select(s => s.Verifier));
            return result.Success
                && result.Text == text
                && result.VerifiedBy.SequenceEqual(signers.Select(s => s.Name));
        }
        finally
        {
            Dispose(signers);
        }
    }

    [Property(MaxTest = 500)]
    public bool FlippingAnyByteFailsOrChangesWhatVerifies(string? rawText, string? rawName, int keySalt, byte keyCount, int position, byte mask)
    {
        var text = ToNoteText(rawText);
        var signers = Signers(rawName, keySalt, keyCount);
        try
        {
            var note = Encoding.UTF8.GetBytes(SignedNote.Sign(text, signers));
            var original = SignedNote.Open(note, signers.Select(s => s.Verifier));
            note[(int)((uint)position % (uint)note.Length)] ^= mask == 0 ? (byte)1 : mask;
            return original.Success && FailsOrDiffers(original, SignedNote.Open(note, signers.Select(s => s.Verifier)));
        }
        finally
        {
            Dispose(signers);
        }
    }

    [Fact]
    public void FlippingEachByteOfAFixedNoteFailsOrChangesWhatVerifies()
    {
        var signers = Signers("node", 7, 2);
        try
        {
            var verifiers = signers.Select(s => s.Verifier).ToArray();
            var note = Encoding.UTF8.GetBytes(SignedNote.Sign("origin\n\nwith blank line\n12\nr\u00e9sum\u00e9\n", signers));
            var original = SignedNote.Open(note, verifiers);
            Assert.True(original.Success);

            foreach (var mask in new byte[] { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff })
            {
                for (var i = 0; i < note.Length; i++)
                {
                    note[i] ^= mask;
                    Assert.True(FailsOrDiffers(original, SignedNote.Open(note, verifiers)), $"byte {i} ^ 0x{mask:x2} went unnoticed");
                    note[i] ^= mask;
                }
            }
        }
        finally
        {
            Dispose(signers);
        }
    }

    [Property(MaxTest = 200)]
    public bool CheckpointTextRoundTrips(string? rawOrigin, long size, int rootSalt, string?[]? rawExtensions)
    {
        var checkpoint = new Checkpoint(
            ToLine(rawOrigin),
            size == long.MinValue ? 0 : Math.Abs(size),
            SHA256.HashData(BitConverter.GetBytes(rootSalt)),
            (rawExtensions ?? []).Select(ToLine).ToArray());

        return Checkpoint.TryParse(checkpoint.ToNoteText(), out var parsed, out _) && parsed == checkpoint;
    }

    private static bool FailsOrDiffers(NoteOpenResult original, NoteOpenResult changed) =>
        !changed.Success
        || changed.Text != original.Text
        || !changed.VerifiedKeys.SequenceEqual(original.VerifiedKeys);

    // Generated strings contain nulls, control characters and lone surrogates; mapping them onto valid
    // note text instead of discarding them keeps every generated case useful.
    private static string ToNoteText(string? raw)
    {
        var text = Sanitize(raw, keepNewlines: true);
        return text.EndsWith('\n') ? text : text + "\n";
    }

    private static string ToLine(string? raw)
    {
        var line = Sanitize(raw, keepNewlines: false);
        return line.Length == 0 ? "x" : line;
    }

    private static string Sanitize(string? raw, bool keepNewlines)
    {
        var builder = new StringBuilder();
        var s = raw ?? "";
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                builder.Append(c).Append(s[++i]);
            }
            else if (char.IsSurrogate(c) || (c < 0x20 && !(keepNewlines && c == '\n')))
            {
                builder.Append('?');
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static NoteSigner[] Signers(string? rawName, int keySalt, byte keyCount)
    {
        var baseName = new string([.. Sanitize(rawName, keepNewlines: false).Where(c => !char.IsWhiteSpace(c) && c != '+' && !char.IsSurrogate(c))]);
        var count = 1 + (keyCount % 4);
        var signers = new NoteSigner[count];
        Span<byte> saltAndIndex = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(saltAndIndex, keySalt);
        for (var i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(saltAndIndex[4..], i);
            signers[i] = NoteSigner.FromSeed($"{baseName}k{i}", SHA256.HashData(saltAndIndex));
        }

        return signers;
    }

    private static void Dispose(NoteSigner[] signers)
    {
        foreach (var signer in signers)
            signer.Dispose();
    }
}

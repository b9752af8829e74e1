using System.Buffers;
using System.Security.Cryptography;

namespace GreenTrace.Core.Merkle;

/// <summary>
/// The RFC 9162 §2.1 hashing primitives over SHA-256. The 0x00 / 0x01 prefixes give leaves and
/// interior nodes disjoint preimage domains, so a leaf can never be passed off as a subtree.
/// </summary>
public static class MerkleHash
{
    public const int Size = 32;

    internal const byte LeafPrefix = 0x00;
    internal const byte NodePrefix = 0x01;

    // Leaf inputs up to this length are prefixed on the stack; larger ones go through a pooled buffer.
    private const int StackLeafLimit = 512;

    private static readonly byte[] EmptyRootValue = SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>MTH({}) = SHA-256 of the empty string. A fresh copy each call so callers cannot corrupt the shared value.</summary>
    public static byte[] EmptyRoot => (byte[])EmptyRootValue.Clone();

    public static byte[] Leaf(ReadOnlySpan<byte> data)
    {
        var result = new byte[Size];
        Leaf(data, result);
        return result;
    }

    public static void Leaf(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        CheckDestination(destination);
        var length = checked(data.Length + 1);
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLeafLimit
            ? stackalloc byte[StackLeafLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            buffer[0] = LeafPrefix;
            data.CopyTo(buffer[1..]);
            Sha256.Hash(buffer[..length], destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var result = new byte[Size];
        Node(left, right, result);
        return result;
    }

    /// <remarks><paramref name="destination"/> may overlap <paramref name="left"/> or <paramref name="right"/>.</remarks>
    public static void Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        if (left.Length != Size)
        {
            throw new ArgumentException($"A node child must be {Size} bytes.", nameof(left));
        }

        if (right.Length != Size)
        {
            throw new ArgumentException($"A node child must be {Size} bytes.", nameof(right));
        }

        CheckDestination(destination);
        NodeUnchecked(left, right, destination);
    }

    /// <summary>Hot-path node hash: callers guarantee 32-byte inputs and output.</summary>
    internal static void NodeUnchecked(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * Size)];
        buffer[0] = NodePrefix;
        left.CopyTo(buffer.Slice(1, Size));
        right.CopyTo(buffer.Slice(1 + Size, Size));
        Sha256.Hash(buffer, destination);
    }

    /// <summary>Node hash of two children that already sit next to each other (64 contiguous bytes).</summary>
    internal static void NodeOfPair(ReadOnlySpan<byte> pair, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * Size)];
        buffer[0] = NodePrefix;
        pair[..(2 * Size)].CopyTo(buffer[1..]);
        Sha256.Hash(buffer, destination);
    }

    private static void CheckDestination(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination must hold at least {Size} bytes.", nameof(destination));
        }
    }
}

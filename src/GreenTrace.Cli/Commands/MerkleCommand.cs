using System.CommandLine;
using GreenTrace.Core;
using GreenTrace.Core.Merkle;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace merkle root | inclusion | consistency</c>: RFC 9162 over leaves read as hex from
/// stdin, one per line (an empty line is the empty leaf), so any other RFC 9162 implementation
/// can cross-check ours.
/// </summary>
public static class MerkleCommand
{
    public static Command Create(CliConsole console)
    {
        var sizeOpt = new Option<long?>("--size") { Description = "Use only the first N leaves (the tree the proof is for); default: all" };

        var root = new Command("root", "Print the root hash (hex) of the tree of the leaves on stdin.") { sizeOpt };
        root.SetAction(parse => Run(console, parse.GetValue(sizeOpt), (hashes, size) => [MerkleTree.RootFromLeafHashes(hashes.Take((int)size).ToList())]));

        var indexOpt = new Option<long>("--index") { Description = "Leaf index (0-based) to prove", Required = true };
        var inclusion = new Command("inclusion", "Print the inclusion proof (hex, one hash per line) of leaf --index.") { indexOpt, sizeOpt };
        inclusion.SetAction(parse =>
        {
            var index = parse.GetValue(indexOpt);
            return Run(console, parse.GetValue(sizeOpt), (hashes, size) =>
                index < 0 || index >= size ? throw new UsageException($"--index {index} is outside a tree of {size} leaves") : MerkleTree.InclusionProof(hashes, index, size));
        });

        var oldOpt = new Option<long>("--old") { Description = "Size of the older tree", Required = true };
        var consistency = new Command("consistency", "Print the consistency proof (hex, one hash per line) from the first --old leaves to the first --size.") { oldOpt, sizeOpt };
        consistency.SetAction(parse =>
        {
            var old = parse.GetValue(oldOpt);
            return Run(console, parse.GetValue(sizeOpt), (hashes, size) =>
                old < 1 || old > size ? throw new UsageException($"--old {old} must be between 1 and {size}") : MerkleTree.ConsistencyProof(hashes, old, size));
        });

        return new Command("merkle", "RFC 9162 Merkle tree hashes and proofs over leaves given as hex lines on stdin.") { root, inclusion, consistency };
    }

    private static int Run(CliConsole console, long? size, Func<IReadOnlyList<byte[]>, long, IReadOnlyList<byte[]>> compute)
    {
        var leafHashes = new List<byte[]>();
        var lineNumber = 0;
        while (console.In.ReadLine() is { } line)
        {
            lineNumber++;
            // Every line is a leaf, an empty line the empty leaf (RFC 6962's first test vector is one).
            var text = line.Trim();
            byte[] leaf;
            try
            {
                leaf = Hex.Decode(text);
            }
            catch (FormatException)
            {
                console.Error.WriteLine($"error: line {lineNumber} is not hex");
                return ExitCodes.Unusable;
            }
            leafHashes.Add(MerkleHash.Leaf(leaf));
        }
        var n = size ?? leafHashes.Count;
        if (n < 0 || n > leafHashes.Count)
        {
            console.Error.WriteLine($"error: --size {n} but {leafHashes.Count} leaves were given");
            return ExitCodes.Unusable;
        }
        try
        {
            foreach (var hash in compute(leafHashes, n))
                console.Out.WriteLine(Hex.Encode(hash));
            return ExitCodes.Ok;
        }
        catch (UsageException e)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Unusable;
        }
    }

    private sealed class UsageException(string message) : Exception(message);
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace GreenTrace.Streaming;

/// <summary>A topic as declared in pipelines/topics.json.</summary>
public sealed record TopicDeclaration(string Name, int Partitions, int RetentionHours, string? Key = null, string? Value = null);

/// <summary>
/// The declared topics (pipelines/topics.json): one file that every service reads and that an
/// operator can apply to a cluster, so partition counts never drift between the two.
/// </summary>
public sealed class TopicCatalog
{
    public const string FileName = "topics.json";

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip };

    public TopicCatalog(IReadOnlyList<TopicDeclaration> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        foreach (var required in new[] { Streaming.Topics.Readings, Streaming.Topics.RejectedReadings, Streaming.Topics.Ledger })
        {
            if (!topics.Any(t => t.Name == required))
                throw new FormatException($"topic catalog lacks '{required}'");
        }
        if (topics.Any(t => t.Partitions < 1))
            throw new FormatException("every topic needs at least one partition");
        if (topics.First(t => t.Name == Streaming.Topics.Ledger).Partitions != 1)
            throw new FormatException($"'{Streaming.Topics.Ledger}' must have exactly one partition: it is the ledger's total order");
        // Optional, so catalogs of deployments without ledger nodes stay valid; one partition because
        // a node commits its offset past a signature only once it has stored or refused it.
        if (topics.FirstOrDefault(t => t.Name == Streaming.Topics.Checkpoints) is { Partitions: not 1 })
            throw new FormatException($"'{Streaming.Topics.Checkpoints}' must have exactly one partition");
        Topics = topics;
    }

    public IReadOnlyList<TopicDeclaration> Topics { get; }

    public IEnumerable<TopicSpec> Specs => Topics.Select(t => new TopicSpec(t.Name, t.Partitions));

    public static TopicCatalog Parse(string json)
    {
        try
        {
            var file = JsonSerializer.Deserialize<CatalogFile>(json, JsonOptions) ?? throw new FormatException("empty topic catalog");
            return new TopicCatalog(file.Topics ?? throw new FormatException("topic catalog has no 'topics'"));
        }
        catch (JsonException e)
        {
            throw new FormatException($"topic catalog is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Reads the catalog shipped beside the program (pipelines/topics.json in the output folder).</summary>
    public static TopicCatalog LoadDefault() => Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "pipelines", FileName)));

    private sealed record CatalogFile([property: JsonPropertyName("topics")] List<TopicDeclaration>? Topics);
}

using System.Text.Json;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Tests.Readings;

public class MeterIdTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("Z")]
    [InlineData("0")]
    [InlineData("meter-01")]
    [InlineData("DE.solar_park-7")]
    [InlineData("...")]
    [InlineData("-")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")] // 64
    public void ValidIds(string id)
    {
        Assert.True(MeterId.IsValid(id));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("meter 01")]
    [InlineData("meter/01")]
    [InlineData("+")]
    [InlineData("#")]
    [InlineData("$share")]
    [InlineData("meter\u0000")]
    [InlineData("m\u00e9ter")] // é: a letter, but not an ASCII one
    [InlineData("\u0661\u0662")] // Arabic-Indic digits
    [InlineData("meter\n")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123x")] // 65
    public void InvalidIds(string? id)
    {
        Assert.False(MeterId.IsValid(id));
    }
}

public class TopicRulesTests
{
    [Fact]
    public void ReadingsTopicAndMeterOfTopicRoundTrip()
    {
        Assert.Equal("meters/meter-01/readings", TopicRules.ReadingsTopic("meter-01"));
        Assert.Equal("meter-01", TopicRules.MeterOfTopic(TopicRules.ReadingsTopic("meter-01")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("meters//readings")]
    [InlineData("meters/readings")]
    [InlineData("meters/a/b/readings")]
    [InlineData("meters/+/readings")]
    [InlineData("meters/#")]
    [InlineData("meters/m1/readings/")]
    [InlineData("/meters/m1/readings")]
    [InlineData("Meters/m1/readings")]
    [InlineData("meters/m1/Readings")]
    [InlineData("meters/m1/readingsx")]
    [InlineData("meters/m1 /readings")]
    [InlineData("devices/m1/messages/events/")]
    [InlineData("meters/0123456789012345678901234567890123456789012345678901234567890123x/readings")]
    public void NotAReadingsTopic(string? topic)
    {
        Assert.Null(TopicRules.MeterOfTopic(topic));
    }

    [Theory]
    [InlineData("meter-01", "meters/meter-01/readings", true)]
    [InlineData("meter-02", "meters/meter-01/readings", false)] // another meter's topic
    [InlineData("meter-01", "meters/meter-01/readings/x", false)]
    [InlineData("meter-01", "meters/+/readings", false)]
    [InlineData("gateway-1", "meters/gateway-1/readings", false)] // gateways never publish readings
    [InlineData("METER-01", "meters/meter-01/readings", false)] // ids are case-sensitive
    public void MetersPublishOnlyToTheirOwnTopic(string clientId, string topic, bool allowed)
    {
        Assert.Equal(allowed, TopicRules.MayPublish(clientId, topic));
    }

    [Theory]
    [InlineData("gateway", "meters/+/readings", true)]
    [InlineData("gateway-7", "meters/+/readings", true)]
    [InlineData("gateway-7", "$share/g/meters/+/readings", true)]
    [InlineData("gateway-7", "$share/gateways/meters/+/readings", true)]
    [InlineData("gateway-7", "meters/meter-01/readings", true)]
    [InlineData("gateway-7", "$share/g/meters/meter-01/readings", true)]
    [InlineData("gateway-7", "$share//meters/+/readings", false)] // empty share name
    [InlineData("gateway-7", "$share/g", false)]
    [InlineData("gateway-7", "$share/g/", false)]
    [InlineData("gateway-7", "$share/g/meters/#", false)]
    [InlineData("gateway-7", "$share/g/$share/g/meters/+/readings", false)]
    [InlineData("gateway-7", "meters/#", false)]
    [InlineData("gateway-7", "#", false)]
    [InlineData("gateway-7", "+/+/readings", false)]
    [InlineData("gateway-7", "meters/+/+", false)]
    [InlineData("gateway-7", "meters//readings", false)]
    [InlineData("gateway-7", "$SHARE/g/meters/+/readings", false)]
    [InlineData("meter-01", "meters/+/readings", false)] // meters subscribe nowhere
    [InlineData("meter-01", "$share/g/meters/+/readings", false)]
    [InlineData("meter-01", "meters/meter-01/readings", false)]
    [InlineData("Gateway-7", "meters/+/readings", false)] // the prefix is case-sensitive
    public void OnlyGatewaysSubscribeAndOnlyToReadings(string clientId, string filter, bool allowed)
    {
        Assert.Equal(allowed, TopicRules.MaySubscribe(clientId, filter));
    }
}

public class RejectedReadingTests
{
    [Fact]
    public void JsonRoundTripKeepsTheRawBytes()
    {
        var rejected = new RejectedReading(ReadingReasons.KidMismatch, "kid differs", "gateway-1", "meters/meter-01/readings", "meter-01", 1700000000, [0xD2, 0x00, 0xFF]);

        var json = rejected.ToJsonBytes();
        var back = RejectedReading.FromJson(json);

        Assert.Equal(rejected.Reason, back.Reason);
        Assert.Equal(rejected.Message, back.Message);
        Assert.Equal(rejected.RejectedBy, back.RejectedBy);
        Assert.Equal(rejected.SourceTopic, back.SourceTopic);
        Assert.Equal(rejected.MeterId, back.MeterId);
        Assert.Equal(rejected.ReceivedAt, back.ReceivedAt);
        Assert.Equal(rejected.Payload, back.Payload);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("kid-mismatch", doc.RootElement.GetProperty("reason").GetString());
        Assert.Equal("0gD/", doc.RootElement.GetProperty("payload").GetString());
    }

    [Fact]
    public void NullsAreOmitted()
    {
        var rejected = new RejectedReading(ReadingReasons.CoseMalformed, "garbage", "gateway-1", null, null, 1, []);

        using var doc = JsonDocument.Parse(rejected.ToJsonBytes());

        Assert.False(doc.RootElement.TryGetProperty("sourceTopic", out _));
        Assert.False(doc.RootElement.TryGetProperty("meterId", out _));
        Assert.Null(RejectedReading.FromJson(rejected.ToJsonBytes()).MeterId);
    }

    [Fact]
    public void JsonNullIsAFormatError()
    {
        Assert.Throws<FormatException>(() => RejectedReading.FromJson("null"u8));
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using GreenTrace.Broker.Mosquitto;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.Mosquitto;

public sealed partial class MosquittoPasswordFileTests
{
    [GeneratedRegex(@"^meter-1:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$")]
    private static partial Regex MosquittoPasswdLine();

    [Fact]
    public void The_hash_is_PBKDF2_HMAC_SHA512_over_the_salt_with_101_iterations()
    {
        // python3: hashlib.pbkdf2_hmac('sha512', b'secret', bytes(range(1, 13)), 101, 64), base64.
        byte[] salt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

        var field = MosquittoPasswordFile.Hash("secret", salt);

        Assert.Equal("$7$101$AQIDBAUGBwgJCgsM$ElKF/yT2lAwrOIqDbqwyDkdEWWjEv9xNCPp7zaw7NgKePlIs4CqOpY89+U/jSu9Z0ymojy1xkdWS2VfMzvRKZw==", field);
        Assert.True(MosquittoPasswordFile.Verify(field, "secret"));
        Assert.False(MosquittoPasswordFile.Verify(field, "Secret"));
    }

    [Fact]
    public void Each_line_has_mosquitto_passwds_shape_and_a_fresh_salt()
    {
        var credential = new MqttCredential("meter-1", "pw");

        var (first, second) = (MosquittoPasswordFile.Line(credential), MosquittoPasswordFile.Line(credential));

        Assert.Matches(MosquittoPasswdLine(), first);
        Assert.Matches(MosquittoPasswdLine(), second);
        Assert.NotEqual(first, second);
        Assert.True(MosquittoPasswordFile.Verify(first["meter-1:".Length..], "pw"));
    }

    [Theory]
    [InlineData("sha512-pbkdf2")]
    [InlineData("sha512")]
    public void The_verifier_accepts_what_mosquitto_passwd_writes_and_nothing_else(string algorithm)
    {
        using var temp = new TempDirectory();
        var file = temp.File("passwd");
        RunMosquittoPasswd("-H", algorithm, "-c", "-b", file, "gateway-1", "correct horse");

        var (user, field) = Assert.Single(MosquittoPasswordFile.Parse(File.ReadAllText(file)));

        Assert.Equal("gateway-1", user);
        Assert.StartsWith(algorithm == "sha512" ? "$6$" : "$7$101$", field, StringComparison.Ordinal);
        Assert.True(MosquittoPasswordFile.Verify(field, "correct horse"));
        Assert.False(MosquittoPasswordFile.Verify(field, "correct horse "));
        Assert.False(MosquittoPasswordFile.Verify(field.Replace("$7$", "$8$", StringComparison.Ordinal).Replace("$6$", "$5$", StringComparison.Ordinal), "correct horse"));
    }

    [Fact]
    public void The_file_is_owner_only_and_refuses_duplicate_or_unsafe_usernames()
    {
        using var temp = new TempDirectory();
        var file = temp.File("passwd");

        MosquittoPasswordFile.Write(file, [new("a", "1"), new("b", "2")]);

        Assert.Equal(FileModes.OwnerOnly, FileModes.Of(file));
        Assert.Equal(["a", "b"], MosquittoPasswordFile.Parse(File.ReadAllText(file)).Select(e => e.Username));
        Assert.Throws<ArgumentException>(() => MosquittoPasswordFile.Format([new("a", "1"), new("a", "2")]));
        foreach (var bad in new[] { "", "a:b", "a b", "a/b", "a+", "#", "a\nb" })
            Assert.Throws<ArgumentException>(() => MosquittoPasswordFile.Format([new(bad, "1")]));
    }

    private static void RunMosquittoPasswd(params string[] args)
    {
        const string tool = "/usr/bin/mosquitto_passwd";
        Assert.True(File.Exists(tool), $"{tool} is missing: run scripts/install-test-deps");
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"mosquitto_passwd failed: {error}");
    }
}

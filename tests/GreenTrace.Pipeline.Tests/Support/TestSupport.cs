using System.Diagnostics;

namespace GreenTrace.Pipeline.Tests.Support;

/// <summary>A clock the test sets (Microsoft.Extensions.Time.Testing is not available here).</summary>
public sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>A directory under the system temp path, removed with everything in it.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"greentrace-tests-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is not a test failure.
        }
    }
}

public static class Wait
{
    /// <summary>Generous: only a safety net so a broken stage fails the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(60);

    /// <summary>Polls until <paramref name="condition"/> holds; fails (never passes) if it does not within the safety net.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > SafetyNet)
                Assert.Fail($"gave up waiting for {what} after {SafetyNet.TotalSeconds:0}s");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}

namespace GreenTrace.Pipeline.Tests.Mosquitto;

internal static class FileModes
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Mosquitto runs on Linux here; on Windows there are no modes to check, and that must not pass quietly.</summary>
    public static UnixFileMode Of(string path)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("the Mosquitto tests need Linux");
        return File.GetUnixFileMode(path);
    }
}

using System.Diagnostics.CodeAnalysis;

namespace GreenTrace.Core;

/// <summary>
/// Why something was refused: a stable, machine-readable <see cref="Code"/> (it goes on the rejected
/// stream and into exit messages, so it never changes once published) and a human explanation.
/// </summary>
public sealed record Rejection(string Code, string Message)
{
    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>
/// The outcome of an operation whose failure is expected input (a forged reading, a double spend),
/// so callers branch on it instead of catching exceptions.
/// </summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    private Result(T? value, Rejection? error)
    {
        _value = value;
        Error = error;
    }

    public Rejection? Error { get; }

    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsOk => Error is null;

    public T Value => Error is null ? _value! : throw new InvalidOperationException($"No value: {Error}");

    public static Result<T> Ok(T value) => new(value, null);

    public static Result<T> Fail(string code, string message) => new(default, new Rejection(code, message));

    public static Result<T> Fail(Rejection rejection) => new(default, rejection);

    public static implicit operator Result<T>(Rejection rejection) => Fail(rejection);

    public bool TryGetValue([NotNullWhen(true)] out T? value)
    {
        value = _value;
        return Error is null && value is not null;
    }

    public override string ToString() => IsOk ? $"Ok({_value})" : $"Fail({Error})";
}

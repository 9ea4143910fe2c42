using System.Globalization;

namespace ChatPortal.Bench;

/// <summary>How a measured figure is written in the tables: invariant culture, "n/a" when not measured.</summary>
public static class Figure
{
    public const string NotMeasured = "n/a";

    public static string Number(double? value, int decimals = 1) =>
        value is { } v && double.IsFinite(v) ? v.ToString("F" + decimals, CultureInfo.InvariantCulture) : NotMeasured;

    public static string Percent(double? share, int decimals = 0) =>
        share is { } v ? (v * 100).ToString("F" + decimals, CultureInfo.InvariantCulture) + " %" : NotMeasured;

    public static string Ratio(double? value) =>
        value is { } v && double.IsFinite(v) ? v.ToString(v >= 10 ? "F0" : "F2", CultureInfo.InvariantCulture) + "×" : NotMeasured;

    /// <summary>a ÷ b, null when either is missing or b is zero.</summary>
    public static double? Divide(double? a, double? b) => a is { } x && b is { } y && y != 0 ? x / y : null;

    public static string Verdict(bool? pass) => pass switch
    {
        true => "pass",
        false => "**miss**",
        null => NotMeasured,
    };
}

using System.Globalization;
using System.Security;
using System.Text;

namespace ChatPortal.Bench;

/// <summary>
/// A small line chart as hand-written SVG: categories on x (the concurrency levels, evenly spaced), a linear or
/// logarithmic y axis, one labelled line per series, grey target lines, and a legend beside the plot. No dependencies.
/// </summary>
public sealed class SvgLineChart(string title, string xLabel, string yLabel, IReadOnlyList<string> categories, bool logarithmic = false)
{
    private const int Width = 800, Height = 500;
    private const int Left = 80, Right = 200, Top = 60, Bottom = 70;
    private readonly List<Series> _series = [];
    private readonly List<(double Value, string Label)> _thresholds = [];

    public string? Note { get; init; }

    /// <param name="labelled">False leaves the points without their value (e.g. a line of zeros under another series' labels).</param>
    public SvgLineChart Add(string name, string color, IReadOnlyList<double?> values, bool dashed = false, bool labelled = true)
    {
        _series.Add(new Series(name, color, values, dashed, labelled));
        return this;
    }

    /// <summary>A horizontal grey dashed line, e.g. a target.</summary>
    public SvgLineChart AddThreshold(double value, string label)
    {
        _thresholds.Add((value, label));
        return this;
    }

    public string Render()
    {
        var values = _series.SelectMany(s => s.Values).OfType<double>().Concat(_thresholds.Select(t => t.Value))
            .Where(v => !logarithmic || v > 0).DefaultIfEmpty(1).ToArray();
        var ticks = logarithmic ? LogTicks(values) : LinearTicks(values.Max());
        var (low, high) = (ticks[0], ticks[^1]);
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        double X(int i) => Left + (categories.Count == 1 ? plotWidth / 2.0 : plotWidth * (0.06 + 0.88 * i / (categories.Count - 1)));
        double Y(double v) => Top + plotHeight * (1 - (logarithmic ? (Math.Log10(v) - Math.Log10(low)) / (Math.Log10(high) - Math.Log10(low)) : (v - low) / (high - low)));

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" viewBox="0 0 {Width} {Height}" font-family="Segoe UI, Helvetica, Arial, sans-serif">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{Height}" fill="#ffffff"/>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Width / 2}" y="30" text-anchor="middle" font-size="20" font-weight="600" fill="#1f2937">{Escape(title)}</text>""").Append('\n');
        if (Note is not null)
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Width / 2}" y="50" text-anchor="middle" font-size="12" fill="#6b7280">{Escape(Note)}</text>""").Append('\n');
        }

        foreach (var tick in ticks)
        {
            var y = Y(tick);
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{y:F1}" x2="{Width - Right}" y2="{y:F1}" stroke="#e5e7eb"/>""").Append('\n');
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left - 8}" y="{y + 4:F1}" text-anchor="end" font-size="13" fill="#374151">{TickLabel(tick)}</text>""").Append('\n');
        }

        svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{Top + plotHeight}" x2="{Width - Right}" y2="{Top + plotHeight}" stroke="#6b7280"/>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{Top}" x2="{Left}" y2="{Top + plotHeight}" stroke="#6b7280"/>""").Append('\n');
        for (var i = 0; i < categories.Count; i++)
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{X(i):F1}" y="{Top + plotHeight + 22}" text-anchor="middle" font-size="14" fill="#374151">{Escape(categories[i])}</text>""").Append('\n');
        }

        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left + plotWidth / 2}" y="{Height - 18}" text-anchor="middle" font-size="14" fill="#374151">{Escape(xLabel)}</text>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text transform="translate(20 {Top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="14" fill="#374151">{Escape(yLabel)}</text>""").Append('\n');

        foreach (var (value, label) in _thresholds)
        {
            var y = Y(value);
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{y:F1}" x2="{Width - Right}" y2="{y:F1}" stroke="#9ca3af" stroke-width="1.5" stroke-dasharray="3 4"/>""").Append('\n');
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Width - Right + 8}" y="{y + 4:F1}" font-size="12" fill="#6b7280">{Escape(label)}</text>""").Append('\n');
        }

        foreach (var series in _series)
        {
            var points = series.Values.Select((v, i) => (Index: i, Value: v)).Where(p => p.Value is { } v && (!logarithmic || v > 0)).ToList();
            var path = string.Join(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.Index):F1},{Y(p.Value!.Value):F1}")));
            var dash = series.Dashed ? """ stroke-dasharray="7 5" """ : " ";
            svg.Append(CultureInfo.InvariantCulture, $"""<polyline points="{path}" fill="none" stroke="{series.Color}" stroke-width="2.5"{dash}/>""").Append('\n');
            foreach (var (index, value) in points)
            {
                var (x, y) = (X(index), Y(value!.Value));
                svg.Append(CultureInfo.InvariantCulture, $"""<circle cx="{x:F1}" cy="{y:F1}" r="4" fill="{series.Color}"/>""").Append('\n');
                if (!series.Labelled)
                {
                    continue;
                }

                var labelY = series.Dashed ? y + 17 : y - 7; // dashed series label below its points, solid above
                svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x + 7:F1}" y="{labelY:F1}" font-size="12" fill="{series.Color}">{ValueLabel(value.Value)}</text>""").Append('\n');
            }
        }

        var legendX = Width - Right + 16;
        var legendY = Top + 8;
        foreach (var series in _series)
        {
            var dash = series.Dashed ? """ stroke-dasharray="7 5" """ : " ";
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{legendX}" y1="{legendY}" x2="{legendX + 26}" y2="{legendY}" stroke="{series.Color}" stroke-width="2.5"{dash}/>""").Append('\n');
            foreach (var (line, offset) in Wrap(series.Name, 20).Select((l, i) => (l, i * 15)))
            {
                svg.Append(CultureInfo.InvariantCulture, $"""<text x="{legendX + 32}" y="{legendY + 4 + offset}" font-size="13" fill="#1f2937">{Escape(line)}</text>""").Append('\n');
            }

            legendY += 12 + 15 * Wrap(series.Name, 20).Count;
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static double[] LinearTicks(double max)
    {
        var rough = Math.Max(max, 1e-9) / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= rough);
        var count = (int)Math.Ceiling(max * 1.1 / step);
        return [.. Enumerable.Range(0, Math.Max(count, 1) + 1).Select(i => i * step)];
    }

    private static double[] LogTicks(double[] values)
    {
        var low = Math.Floor(Math.Log10(values.Min()));
        var high = Math.Ceiling(Math.Log10(values.Max() * 1.5));
        return [.. Enumerable.Range((int)low, Math.Max(1, (int)(high - low)) + 1).Select(e => Math.Pow(10, e))];
    }

    private static string TickLabel(double value) =>
        value >= 1 || value == 0 ? value.ToString("#,0.##", CultureInfo.InvariantCulture) : value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string ValueLabel(double value) =>
        value.ToString(value >= 100 ? "F0" : value >= 10 ? "F1" : "F2", CultureInfo.InvariantCulture);

    private static string Escape(string text) => SecurityElement.Escape(text);

    /// <summary>Words onto lines of at most <paramref name="width"/> characters (legend entries beside the plot).</summary>
    private static List<string> Wrap(string text, int width)
    {
        var lines = new List<string> { "" };
        foreach (var word in text.Split(' '))
        {
            if (lines[^1].Length > 0 && lines[^1].Length + 1 + word.Length > width)
            {
                lines.Add("");
            }

            lines[^1] = lines[^1].Length == 0 ? word : lines[^1] + " " + word;
        }

        return lines;
    }

    private sealed record Series(string Name, string Color, IReadOnlyList<double?> Values, bool Dashed, bool Labelled);
}

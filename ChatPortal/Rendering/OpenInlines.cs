using System.Text;

namespace ChatPortal.Rendering;

/// <summary>
/// Closes what a cut-off answer left open at its very end, for display only: an answer stopped in the middle of
/// "**Make" would otherwise show the literal stars. Only the last paragraph is looked at (emphasis never crosses
/// a blank line); inside an open code fence nothing changes (Markdig shows an unclosed fence as code already).
/// <list type="bullet">
/// <item>emphasis (<c>*</c>, <c>**</c>, <c>_</c>, <c>__</c>, <c>~~</c>) still open gets its closing marks;</item>
/// <item>an inline code span still open gets its closing backticks;</item>
/// <item>a link whose target is still being written shows its text (the half target is not a place to go to);
/// an opening bracket at the start of a word that never closed is left out;</item>
/// <item>marks at the very end with nothing after them yet are left out.</item>
/// </list>
/// The stored text never changes: this is applied to the copy that is rendered.
/// </summary>
public static class OpenInlines
{
    public static string Close(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var text = markdown.TrimEnd();
        var start = LastParagraphStart(text);
        if (start < 0 || start >= text.Length)
        {
            return markdown;
        }

        var scan = new Scan(text, start);
        scan.Run();
        if (!scan.ChangesAnything)
        {
            return markdown;
        }

        return scan.Closed();
    }

    /// <summary>Where the last paragraph starts; -1 when the text ends inside a code fence or an indented code block.</summary>
    private static int LastParagraphStart(string text)
    {
        var paragraph = 0;
        var fence = '\0';
        var fenceLength = 0;
        var position = 0;
        while (position <= text.Length)
        {
            var end = text.IndexOf('\n', position);
            if (end < 0)
            {
                end = text.Length;
            }

            var line = text.AsSpan(position, end - position).TrimEnd('\r');
            var content = line.TrimStart(" \t>");
            if (fence != '\0')
            {
                if (Run(content, fence) >= fenceLength && content.TrimStart(fence).IsWhiteSpace())
                {
                    fence = '\0';
                    paragraph = end + 1;
                }
            }
            else if (line.IsWhiteSpace())
            {
                paragraph = end + 1;
            }
            else
            {
                foreach (var mark in (ReadOnlySpan<char>)['`', '~'])
                {
                    var run = Run(content, mark);
                    if (run >= 3 && (mark == '~' || !content[run..].Contains('`')))
                    {
                        (fence, fenceLength) = (mark, run);
                        break;
                    }
                }
            }

            position = end + 1;
        }

        if (fence != '\0' || paragraph >= text.Length)
        {
            return -1;
        }

        var first = text.AsSpan(paragraph);
        var indent = 0;
        while (indent < first.Length && first[indent] == ' ')
        {
            indent++;
        }

        return indent >= 4 || (first.Length > 0 && first[0] == '\t') ? -1 : paragraph;
    }

    private static int Run(ReadOnlySpan<char> text, char mark)
    {
        var run = 0;
        while (run < text.Length && text[run] == mark)
        {
            run++;
        }

        return run;
    }

    private sealed class Scan(string text, int start)
    {
        private readonly List<(char Mark, int Length, int Position)> _emphasis = [];
        private readonly List<int> _brackets = [];
        private int _openCode = -1;
        private int _openCodeLength;
        private (int Bracket, int Close) _openLink = (-1, -1);
        private int _trailingMarks = -1;

        public bool ChangesAnything =>
            _emphasis.Count > 0 || _openCode >= 0 || _openLink.Bracket >= 0 || _trailingMarks >= 0 || OpenBrackets().Any();

        public void Run()
        {
            var i = start;
            while (i < text.Length)
            {
                var c = text[i];
                if (c == '\\')
                {
                    i += 2;
                    continue;
                }

                if (c == '`')
                {
                    var run = Length(i, c);
                    var close = FindBackticks(i + run, run);
                    if (close < 0)
                    {
                        _openCode = i;
                        _openCodeLength = run;
                        return; // the rest is code
                    }

                    i = close + run;
                    continue;
                }

                if (c is '*' or '_' || (c == '~' && Length(i, c) == 2))
                {
                    var run = Length(i, c);
                    Delimiter(c, i, run);
                    i += run;
                    continue;
                }

                if (c == '[')
                {
                    _brackets.Add(i);
                }
                else if (c == ']' && _brackets.Count > 0)
                {
                    var bracket = _brackets[^1];
                    _brackets.RemoveAt(_brackets.Count - 1);
                    if (i + 1 < text.Length && text[i + 1] == '(')
                    {
                        var end = FindLinkEnd(i + 2);
                        if (end == -1)
                        {
                            _openLink = (bracket, i);
                            _emphasis.RemoveAll(e => e.Position > i);
                            return; // the rest is the target being written
                        }

                        if (end >= 0)
                        {
                            i = end + 1;
                            continue;
                        }
                    }
                }

                i++;
            }

            // Marks at the very end, after a space or the paragraph's start: nothing written after them yet.
            var last = text.Length;
            while (last > start && text[last - 1] is '*' or '_' or '~' or '`')
            {
                last--;
            }

            if (last < text.Length && (last == start || char.IsWhiteSpace(text[last - 1])))
            {
                _trailingMarks = last;
                _emphasis.RemoveAll(e => e.Position >= last);
            }
        }

        public string Closed()
        {
            var end = _openLink.Bracket >= 0 ? _openLink.Bracket : _trailingMarks >= 0 ? _trailingMarks : text.Length;
            var builder = new StringBuilder(text.Length + 8);
            var cut = new HashSet<int>(OpenBrackets());
            if (_openLink.Bracket >= 0)
            {
                var bracket = _openLink.Bracket;
                var image = bracket > start && text[bracket - 1] == '!' ? 1 : 0;
                Append(builder, 0, bracket - image, cut);
                Append(builder, bracket + 1, _openLink.Close, cut);
            }
            else
            {
                Append(builder, 0, end, cut);
            }

            var trimmed = builder.ToString().TrimEnd();
            builder.Clear().Append(trimmed);
            if (_openCode >= 0 && _openLink.Bracket < 0)
            {
                if (_openCode + _openCodeLength >= trimmed.Length)
                {
                    builder.Length = _openCode; // backticks with nothing after them yet
                    while (builder.Length > 0 && char.IsWhiteSpace(builder[^1]))
                    {
                        builder.Length--;
                    }
                }
                else
                {
                    builder.Append('`', _openCodeLength);
                }
            }

            // Close the innermost first; an opener with nothing written after it is dropped instead.
            for (var e = _emphasis.Count - 1; e >= 0; e--)
            {
                var (mark, length, position) = _emphasis[e];
                if (position + length >= builder.Length && position < builder.Length)
                {
                    builder.Length = position;
                    continue;
                }

                while (builder.Length > 0 && char.IsWhiteSpace(builder[^1]))
                {
                    builder.Length--;
                }

                builder.Append(mark, length);
            }

            return builder.ToString();
        }

        private void Append(StringBuilder builder, int from, int to, HashSet<int> cut)
        {
            for (var i = from; i < to; i++)
            {
                if (!cut.Contains(i))
                {
                    builder.Append(text[i]);
                }
            }
        }

        /// <summary>Opening brackets never closed, at the start of a word (a link's text being written).</summary>
        private IEnumerable<int> OpenBrackets() =>
            _brackets.Where(b => b == start || char.IsWhiteSpace(text[b - 1]) || (text[b - 1] == '!' && (b - 1 == start || char.IsWhiteSpace(text[b - 2]))));

        private void Delimiter(char mark, int position, int run)
        {
            var before = position > start ? text[position - 1] : ' ';
            var after = position + run < text.Length ? text[position + run] : ' ';
            var left = !char.IsWhiteSpace(after) && (!IsPunctuation(after) || char.IsWhiteSpace(before) || IsPunctuation(before));
            var right = !char.IsWhiteSpace(before) && (!IsPunctuation(before) || char.IsWhiteSpace(after) || IsPunctuation(after));
            var canOpen = mark == '_' ? left && (!right || IsPunctuation(before)) : left;
            var canClose = mark == '_' ? right && (!left || IsPunctuation(after)) : right;

            if (canClose)
            {
                for (var e = _emphasis.Count - 1; e >= 0 && run > 0; e--)
                {
                    if (_emphasis[e].Mark != mark)
                    {
                        continue;
                    }

                    var opener = _emphasis[e];
                    var used = Math.Min(opener.Length, run);
                    run -= used;
                    _emphasis.RemoveRange(e + 1, _emphasis.Count - e - 1); // unmatched marks inside stay literal
                    if (opener.Length > used)
                    {
                        _emphasis[e] = opener with { Length = opener.Length - used };
                    }
                    else
                    {
                        _emphasis.RemoveAt(e);
                    }
                }
            }

            // An opener inside a word ("4*5") is more often arithmetic than emphasis: it is not closed.
            if (canOpen && !right && run > 0)
            {
                _emphasis.Add((mark, run, position));
            }
        }

        private int Length(int position, char mark)
        {
            var end = position;
            while (end < text.Length && text[end] == mark)
            {
                end++;
            }

            return end - position;
        }

        private int FindBackticks(int from, int run)
        {
            for (var i = from; i < text.Length; i++)
            {
                if (text[i] == '`')
                {
                    var length = Length(i, '`');
                    if (length == run)
                    {
                        return i;
                    }

                    i += length - 1;
                }
            }

            return -1;
        }

        private const int NotALink = -2;

        /// <summary>The closing parenthesis of a link target; -1 when the text ends first (still being written), <see cref="NotALink"/> when a line ends first.</summary>
        private int FindLinkEnd(int from)
        {
            var depth = 0;
            for (var i = from; i < text.Length; i++)
            {
                switch (text[i])
                {
                    case '\\':
                        i++;
                        break;
                    case '\n':
                        return NotALink; // a target never spans lines
                    case '(':
                        depth++;
                        break;
                    case ')' when depth == 0:
                        return i;
                    case ')':
                        depth--;
                        break;
                }
            }

            return -1;
        }

        private static bool IsPunctuation(char c) => char.IsPunctuation(c) || char.IsSymbol(c);
    }
}

using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Components;

namespace ChatPortal.Rendering;

/// <summary>A message rendered as top-level blocks; the last one may still grow while the message streams.</summary>
public sealed class RenderedMarkdown(IReadOnlyList<MarkupString> blocks)
{
    public static readonly RenderedMarkdown Empty = new([]);

    public IReadOnlyList<MarkupString> Blocks { get; } = blocks;
}

/// <summary>
/// Renders text that only grows (a streaming answer) without parsing all of it on every update. The text is cut
/// into top-level blocks at safe boundaries: a blank line outside a code fence, followed by a line that starts a
/// new block at the margin (not indented, not a list item, which could belong to the list above). Finished
/// blocks are rendered once and kept; each update parses only the trailing open block. Concatenated, the blocks
/// are exactly <see cref="MarkdownRenderer.ToHtml"/> of the whole text. Reference-style link definitions can
/// reach back to earlier blocks, so text that has one is rendered whole.
/// A <paramref name="partial"/> text (streaming, or stopped or failed where it was cut) is rendered with what its end
/// left open closed (<see cref="OpenInlines"/>), so "**Make" shows as bold, not as stars; only the last, open block
/// can be affected, and the text itself stays as it is.
/// </summary>
public sealed partial class IncrementalMarkdown(MarkdownRenderer renderer, bool partial = false)
{
    private readonly List<MarkupString> _blocks = [];
    private string _text = "";
    private int _committed;
    private int _scanned;
    private int _pendingBoundary = -1;
    private char _fenceChar;
    private int _fenceLength;
    private int _fenceIndent;
    private bool _whole;

    /// <summary>Characters handed to the Markdown parser so far: the work the renderer did.</summary>
    public long CharactersParsed { get; private set; }

    /// <summary>Finished blocks kept so far.</summary>
    public int FinishedBlocks => _blocks.Count;

    public RenderedMarkdown Update(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length < _scanned || !text.AsSpan(0, _scanned).SequenceEqual(_text.AsSpan(0, _scanned)))
        {
            Reset(); // not a continuation of what was rendered: another text
        }

        _text = text;
        Scan();
        if (!_whole && _fenceChar == '\0' && IsReferenceDefinition(text.AsSpan(_scanned)))
        {
            _whole = true;
        }

        if (_whole)
        {
            _blocks.Clear();
            _committed = 0;
        }

        var tail = _committed < text.Length ? Parse(partial ? OpenInlines.Close(text[_committed..]) : text[_committed..]) : "";
        var blocks = new MarkupString[_blocks.Count + (tail.Length > 0 ? 1 : 0)];
        _blocks.CopyTo(blocks);
        if (tail.Length > 0)
        {
            blocks[^1] = new MarkupString(tail);
        }

        return new RenderedMarkdown(blocks);
    }

    private void Reset()
    {
        _blocks.Clear();
        _text = "";
        _committed = 0;
        _scanned = 0;
        _pendingBoundary = -1;
        _fenceChar = '\0';
        _fenceLength = 0;
        _fenceIndent = 0;
        _whole = false;
    }

    /// <summary>Reads the lines completed since the last update (each ends with '\n'); the last, partial line waits.</summary>
    private void Scan()
    {
        while (_scanned < _text.Length)
        {
            var end = _text.IndexOf('\n', _scanned);
            if (end < 0)
            {
                return;
            }

            var line = _text.AsSpan(_scanned, end - _scanned).TrimEnd('\r');
            var next = end + 1;
            Read(line, _scanned);
            _scanned = next;
        }
    }

    private void Read(ReadOnlySpan<char> line, int lineStart)
    {
        var content = line.TrimStart(' ').TrimStart('\t');
        var indent = line.Length - content.Length;
        if (_fenceChar != '\0')
        {
            // Inside a fence: only its closing line matters. A line indented further than a closing fence may be
            // is code, not the end: when in doubt the fence stays open (fewer cuts, never a cut inside code).
            if (indent <= _fenceIndent + 3 && FenceRun(content, _fenceChar) >= _fenceLength && content.TrimStart(_fenceChar).IsWhiteSpace())
            {
                _fenceChar = '\0';
            }

            return;
        }

        if (line.IsWhiteSpace())
        {
            _pendingBoundary = lineStart + line.Length + 1;
            return;
        }

        if (_pendingBoundary >= 0)
        {
            if (StartsBlockAtTheMargin(line) && !_whole)
            {
                Commit(_pendingBoundary);
            }

            _pendingBoundary = -1;
        }

        if (IsReferenceDefinition(line))
        {
            _whole = true;
        }

        foreach (var fence in (ReadOnlySpan<char>)['`', '~'])
        {
            var run = FenceRun(content, fence);
            if (run >= 3 && (fence == '~' || !content[run..].Contains('`')))
            {
                _fenceChar = fence;
                _fenceLength = run;
                _fenceIndent = indent;
                break;
            }
        }
    }

    private void Commit(int boundary)
    {
        if (boundary <= _committed)
        {
            return;
        }

        _blocks.Add(new MarkupString(Parse(_text[_committed..boundary])));
        _committed = boundary;
    }

    private string Parse(string markdown)
    {
        CharactersParsed += markdown.Length;
        return renderer.ToHtml(markdown);
    }

    private static int FenceRun(ReadOnlySpan<char> content, char fence)
    {
        var run = 0;
        while (run < content.Length && content[run] == fence)
        {
            run++;
        }

        return run;
    }

    /// <summary>Not indented (no continuation of a list item or indented code), and not a list item itself.</summary>
    private static bool StartsBlockAtTheMargin(ReadOnlySpan<char> line) =>
        line.Length > 0 && line[0] is not (' ' or '\t') && !ListItem().IsMatch(line);

    private static bool IsReferenceDefinition(ReadOnlySpan<char> line) => ReferenceDefinition().IsMatch(line);

    [GeneratedRegex(@"^(?:[-*+]|[0-9]{1,9}[.)])(?:[ \t]|$)")]
    private static partial Regex ListItem();

    [GeneratedRegex(@"^ {0,3}\[[^\]]+\]:")]
    private static partial Regex ReferenceDefinition();
}

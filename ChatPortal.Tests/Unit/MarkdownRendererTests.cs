using System.Text.RegularExpressions;
using ChatPortal.Rendering;

namespace ChatPortal.Tests.Unit;

public sealed partial class MarkdownRendererTests
{
    private readonly MarkdownRenderer _renderer = new();

    [Fact]
    public void AScriptTagIsEscapedNotRendered()
    {
        var html = _renderer.ToHtml("<script>alert('x')</script>");

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;", html);
    }

    [Fact]
    public void AnImageWithAnErrorHandlerIsEscapedNotRendered()
    {
        var html = _renderer.ToHtml("Look: <img src=x onerror=alert(1)> here");

        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", html);
    }

    [Fact]
    public void InlineHtmlWithAnEventHandlerIsEscaped()
    {
        var html = _renderer.ToHtml("Hello <b onclick=\"steal()\">there</b> and <iframe src=\"https://evil.example\"></iframe>");

        Assert.DoesNotContain("<b ", html);
        Assert.DoesNotContain("<iframe", html);
        Assert.Contains("&lt;b onclick=", html);
    }

    [Theory]
    [InlineData("[click](javascript:alert(1))")]
    [InlineData("[click](JAVASCRIPT:alert(1))")]
    [InlineData("[click](JavaScript:alert(1))")]
    [InlineData("[click](vbscript:msgbox(1))")]
    [InlineData("[click](VBScript:msgbox(1))")]
    [InlineData("[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)")]
    [InlineData("[click](DATA:text/html,<script>alert(1)</script>)")]
    [InlineData("[click](<java\tscript:alert(1)>)")]
    [InlineData("[click](java&#9;script:alert(1))")]
    [InlineData("[click](java&#x0A;script:alert(1))")]
    [InlineData("[click](&#106;avascript:alert(1))")]
    [InlineData("[click](javascript&colon;alert(1))")]
    [InlineData("[click](<\u0001javascript:alert(1)>)")]
    [InlineData("[click][ref]\n\n[ref]: javascript:alert(1)")]
    [InlineData("<javascript:alert(1)>")]
    [InlineData("<JAVASCRIPT:alert(1)>")]
    [InlineData("<vbscript:msgbox(1)>")]
    public void ADangerousLinkIsNeutralised(string markdown)
    {
        var html = _renderer.ToHtml(markdown);

        var targets = Targets(html);
        Assert.NotEmpty(targets);
        Assert.All(targets, target => Assert.Equal("#", target));
    }

    [Theory]
    [InlineData("![pic](javascript:alert(1))")]
    [InlineData("![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)")]
    [InlineData("![pic](Java&#9;Script:alert(1))")]
    public void ADangerousImageSourceIsNeutralised(string markdown)
    {
        var html = _renderer.ToHtml(markdown);

        var targets = Targets(html);
        Assert.Single(targets);
        Assert.Equal("#", targets[0]);
    }

    [Theory]
    [InlineData("[site](http://example.com/page)", "http://example.com/page")]
    [InlineData("[site](https://example.com/a?b=c)", "https://example.com/a?b=c")]
    [InlineData("[SITE](HTTPS://example.com/)", "HTTPS://example.com/")]
    [InlineData("[mail](mailto:someone@example.com)", "mailto:someone@example.com")]
    [InlineData("<https://example.com/auto>", "https://example.com/auto")]
    [InlineData("Visit https://example.com/bare today", "https://example.com/bare")]
    [InlineData("[conversation](/c/0123456789abcdef01234567)", "/c/0123456789abcdef01234567")]
    [InlineData("![pic](https://example.com/cat.png)", "https://example.com/cat.png")]
    public void ASafeLinkIsKept(string markdown, string expected)
    {
        var html = _renderer.ToHtml(markdown);

        Assert.Equal([expected], Targets(html));
    }

    [Fact]
    public void AnEmailAutolinkIsKept()
    {
        var html = _renderer.ToHtml("<someone@example.com>");

        Assert.Equal(["mailto:someone@example.com"], Targets(html));
    }

    [Fact]
    public void LinkTitlesAreDropped()
    {
        var html = _renderer.ToHtml("[site](https://example.com \"a title\")");

        Assert.DoesNotContain("title=", html);
        Assert.Contains("href=\"https://example.com\"", html);
    }

    [Fact]
    public void AFencedCodeBlockIsRenderedWithItsLanguageAndEscapedContent()
    {
        var html = _renderer.ToHtml("Before\n\n```csharp\nif (a < b && c > d) { Console.WriteLine(\"<script>\"); }\n```\n\nAfter");

        Assert.Contains("<pre><code class=\"language-csharp\">", html);
        Assert.Contains("if (a &lt; b &amp;&amp; c &gt; d)", html);
        Assert.Contains("&lt;script&gt;", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("<p>After</p>", html);
    }

    [Fact]
    public void InlineCodeAndAnIndentedCodeBlockAreRendered()
    {
        var html = _renderer.ToHtml("Use `Task.Delay` here.\n\n    var x = 1;\n");

        Assert.Contains("<code>Task.Delay</code>", html);
        Assert.Contains("<pre><code>var x = 1;", html);
    }

    [Fact]
    public void CommonMarkdownIsRendered()
    {
        var html = _renderer.ToHtml("# Title\n\nSome **bold** and *italic* text.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");

        Assert.Contains("<h1", html);
        Assert.Contains("<strong>bold</strong>", html);
        Assert.Contains("<em>italic</em>", html);
        Assert.Contains("<li>one</li>", html);
        Assert.Contains("<table>", html);
    }

    [Fact]
    public void ToMarkupGivesTheSameHtml()
    {
        const string markdown = "**hi** <script>x</script>";

        Assert.Equal(_renderer.ToHtml(markdown), _renderer.ToMarkup(markdown).Value);
    }

    /// <summary>Every href and src value, HTML-decoded.</summary>
    private static List<string> Targets(string html) =>
        Target().Matches(html).Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[2].Value)).ToList();

    [GeneratedRegex(@"\b(href|src)=""([^""]*)""")]
    private static partial Regex Target();
}

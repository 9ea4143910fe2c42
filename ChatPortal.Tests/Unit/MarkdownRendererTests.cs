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

        Assert.Matches("<pre[^>]*><code class=\"language-csharp\">", html);
        Assert.Contains("if</span> (a &lt; b &amp;&amp; c &gt; d)", html);
        Assert.Contains("&lt;script&gt;", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("<p>After</p>", html);
    }

    [Fact]
    public void InlineCodeAndAnIndentedCodeBlockAreRendered()
    {
        var html = _renderer.ToHtml("Use `Task.Delay` here.\n\n    var x = 1;\n");

        Assert.Contains("<code>Task.Delay</code>", html);
        Assert.Matches("<pre[^>]*><code>var x = 1;", html);
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

    [Fact]
    public void ACodeBlockIsHighlightedWithClassesNotInlineColours()
    {
        var html = _renderer.ToHtml("```csharp\nvar text = \"hi\"; // say it\n```");

        Assert.Contains("<code class=\"language-csharp\">", html);
        Assert.Contains("<span class=\"keyword\">var</span>", html);
        Assert.Contains("<span class=\"string\">&quot;hi&quot;</span>", html);
        Assert.Contains("<span class=\"comment\">// say it</span>", html);
        Assert.DoesNotContain("style=", html);
    }

    [Theory]
    [InlineData("csharp", "C#", "public class A { }")]
    [InlineData("cs", "C#", "public class A { }")]
    [InlineData("js", "JavaScript", "const a = function () { return 1; };")]
    [InlineData("typescript", "TypeScript", "const a: string = 'x';")]
    [InlineData("python", "Python", "def f(x):\n    return None")]
    [InlineData("json", "JSON", "{\"a\": 1, \"b\": true}")]
    [InlineData("sql", "SQL", "SELECT id FROM users WHERE id = 1")]
    [InlineData("bash", "Shell", "# install\nexport A=1\necho \"$A\"")]
    [InlineData("sh", "Shell", "if [ -f x ]; then echo yes; fi")]
    [InlineData("html", "HTML", "<div class=\"a\">x</div>")]
    [InlineData("css", "CSS", ".a { color: red; }")]
    [InlineData("java", "Java", "public static void main(String[] args) { }")]
    [InlineData("go", "Go", "func main() {\n\tvar x int = 1 // one\n}")]
    public void CommonLanguagesAreHighlightedAndNamed(string fence, string label, string code)
    {
        var html = _renderer.ToHtml($"```{fence}\n{code}\n```");

        Assert.Contains($"<span class=\"cp-code-lang\">{System.Net.WebUtility.HtmlEncode(label)}</span>", html);
        Assert.Matches("<span class=\"[A-Za-z]+\">", CodeOf(html));
    }

    [Fact]
    public void ACodeBlockHasAHeaderWithACopyButtonAndScrollsOnItsOwn()
    {
        var html = _renderer.ToHtml("```\nplain\n```");

        Assert.StartsWith("<div class=\"cp-code\"><div class=\"cp-code-head\"><span class=\"cp-code-lang\">Code</span>", html);
        Assert.Contains("<button type=\"button\" class=\"cp-code-copy\" data-copy-code aria-label=\"Copy code\">", html);
        Assert.Contains("<pre tabindex=\"0\"><code>plain</code></pre></div>", html);
    }

    [Theory]
    [InlineData("html")]
    [InlineData("javascript")]
    [InlineData("bash")]
    [InlineData("unknown-language")]
    [InlineData("")]
    public void CodeInABlockIsEscapedWhateverItsLanguage(string fence)
    {
        var html = _renderer.ToHtml($"```{fence}\n<script>alert(1)</script><img src=x onerror=alert(1)>\n```");

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;", html);
    }

    [Fact]
    public void AFenceLanguageCannotBreakOutOfItsAttributeOrLabel()
    {
        var html = _renderer.ToHtml("```\"><img/src=x/onerror=alert(1)>\ncode\n```");

        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("class=\"language-imgsrcxonerroralert1\"", html);
    }

    [Fact]
    public void AnUnclosedFenceWhileStreamingShowsTheCodeSoFar()
    {
        var html = _renderer.ToHtml("Here it is:\n\n```python\ndef answer():\n    return 4");

        Assert.Contains("<p>Here it is:</p>", html);
        Assert.Contains("<span class=\"cp-code-lang\">Python</span>", html);
        Assert.Contains("<span class=\"keyword\">def</span> answer():", CodeOf(html));
        Assert.EndsWith("</code></pre></div>\n", html);
    }

    [Fact]
    public void ATableIsWrappedSoItScrollsInsideTheMessage()
    {
        var html = _renderer.ToHtml("| a | b |\n|---|---|\n| 1 | 2 |\n");

        Assert.StartsWith("<div class=\"cp-table\" tabindex=\"0\">\n<table>", html);
        Assert.Contains("<th>a</th>", html);
        Assert.Contains("</table></div>", html.Replace("\n", ""));
    }

    private static string CodeOf(string html)
    {
        var start = html.IndexOf("<code", StringComparison.Ordinal);
        return html[start..html.IndexOf("</code>", start, StringComparison.Ordinal)];
    }

    /// <summary>Every href and src value, HTML-decoded.</summary>
    private static List<string> Targets(string html) =>
        Target().Matches(html).Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[2].Value)).ToList();

    [GeneratedRegex(@"\b(href|src)=""([^""]*)""")]
    private static partial Regex Target();
}

using ColorCode;
using ColorCode.Common;

namespace ChatPortal.Rendering;

/// <summary>
/// The languages a fenced code block may name, by the names models write after the fence ("cs", "ts", "sh"...):
/// ColorCode's own, plus shell and Go, which it lacks.
/// </summary>
internal static class CodeLanguages
{
    private static readonly Dictionary<string, (string Label, ILanguage? Language)> ByName = Build();

    /// <summary>The label for a block's header and, when highlighting is known, its language.</summary>
    public static (string Label, ILanguage? Language) Find(string? info)
    {
        var name = (info ?? "").Trim().ToLowerInvariant();
        if (name.Length == 0)
        {
            return ("Code", null);
        }

        return ByName.TryGetValue(name, out var found) ? found : (name, null);
    }

    private static Dictionary<string, (string, ILanguage?)> Build()
    {
        var map = new Dictionary<string, (string, ILanguage?)>(StringComparer.Ordinal);
        void Add(string label, ILanguage? language, params string[] names)
        {
            foreach (var name in names)
            {
                map[name] = (label, language);
            }
        }

        Add("C#", Languages.CSharp, "csharp", "cs", "c#", "dotnet");
        Add("JavaScript", Languages.JavaScript, "javascript", "js", "jsx", "mjs", "node");
        Add("TypeScript", Languages.Typescript, "typescript", "ts", "tsx");
        Add("Python", Languages.Python, "python", "py", "python3");
        Add("JSON", Languages.FindById("json"), "json", "jsonc");
        Add("SQL", Languages.Sql, "sql", "tsql", "postgresql", "postgres", "mysql", "sqlite");
        Add("HTML", Languages.Html, "html", "htm", "razor", "cshtml");
        Add("XML", Languages.Xml, "xml", "csproj", "xaml", "svg");
        Add("CSS", Languages.Css, "css");
        Add("Java", Languages.Java, "java");
        Add("C++", Languages.Cpp, "cpp", "c++", "c", "h", "hpp");
        Add("F#", Languages.FSharp, "fsharp", "fs", "f#");
        Add("PowerShell", Languages.PowerShell, "powershell", "ps1", "pwsh");
        Add("PHP", Languages.Php, "php");
        Add("VB.NET", Languages.VbDotNet, "vb", "vbnet", "vb.net");
        Add("Haskell", Languages.Haskell, "haskell", "hs");
        Add("Markdown", Languages.Markdown, "markdown", "md");
        Add("Shell", ShellLanguage.Instance, "bash", "sh", "shell", "zsh", "console", "shellsession");
        Add("Go", GoLanguage.Instance, "go", "golang");
        Add("Text", null, "text", "txt", "plaintext", "plain");
        return map;
    }

    /// <summary>A language given by a few regular expressions, in ColorCode's terms.</summary>
    private abstract class RuleLanguage(string id, string name, IList<LanguageRule> rules) : ILanguage
    {
        public string Id => id;

        public string Name => name;

        public string CssClassName => id;

        public string? FirstLinePattern => null;

        public IList<LanguageRule> Rules => rules;

        public bool HasAlias(string lang) => false;
    }

    private static LanguageRule Rule(string pattern, string scope) => new(pattern, new Dictionary<int, string> { [0] = scope });

    private sealed class ShellLanguage() : RuleLanguage("cp-shell", "Shell",
    [
        Rule(@"(?m)(?<![\w$\\])#.*$", ScopeName.Comment),
        Rule(@"'[^']*'", ScopeName.String),
        Rule(@"""(?:\\.|[^""\\])*""", ScopeName.String),
        Rule(@"\$\{[^}\n]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@#?*!$-]", ScopeName.PowerShellVariable),
        Rule(@"\b(?:if|then|else|elif|fi|for|while|until|do|done|case|esac|in|function|return|export|local|readonly|source|exit|set|unset|shift)\b", ScopeName.Keyword),
        Rule(@"(?m)(?<=^\s*|[|;&]\s*|\$\s+)(?:sudo\s+)?[A-Za-z][\w.-]*", ScopeName.PowerShellCommand),
        Rule(@"(?<=\s)--?[A-Za-z][\w-]*", ScopeName.PowerShellParameter),
    ])
    {
        public static readonly ShellLanguage Instance = new();
    }

    private sealed class GoLanguage() : RuleLanguage("cp-go", "Go",
    [
        Rule(@"/\*[\s\S]*?\*/", ScopeName.Comment),
        Rule(@"(?m)//.*$", ScopeName.Comment),
        Rule(@"`[^`]*`", ScopeName.String),
        Rule(@"""(?:\\.|[^""\\\n])*""", ScopeName.String),
        Rule(@"'(?:\\.|[^'\\\n])+'", ScopeName.String),
        Rule(@"\b(?:break|case|chan|const|continue|default|defer|else|fallthrough|for|func|go|goto|if|import|interface|map|package|range|return|select|struct|switch|type|var)\b", ScopeName.Keyword),
        Rule(@"\b(?:bool|byte|complex64|complex128|error|float32|float64|int|int8|int16|int32|int64|rune|string|uint|uint8|uint16|uint32|uint64|uintptr|any)\b", ScopeName.Type),
        Rule(@"\b(?:true|false|nil|iota)\b", ScopeName.Keyword),
        Rule(@"\b[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][+-]?[0-9]+)?\b", ScopeName.Number),
    ])
    {
        public static readonly GoLanguage Instance = new();
    }
}

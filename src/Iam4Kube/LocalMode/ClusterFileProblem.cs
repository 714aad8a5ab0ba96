namespace Iam4Kube.LocalMode;

/// <summary>
/// Something wrong with one document of a cluster file, located as a person editing the file needs it: the file,
/// the document's number (1-based, counting documents that hold something), the line in the file, the object
/// (when its kind and name could be read) and the field.
/// </summary>
internal sealed record ClusterFileProblem(string File, int Document, int Line, string? Object, string? Field, string Message)
{
    /// <summary>The object, field and message: what is wrong, without where in the file.</summary>
    public string Detail =>
        (Object is null ? "" : $"{Object}: ") + (Field is null ? "" : $"field {Field}: ") + Message;

    public override string ToString() => $"{File}: document {Document} (line {Line}): {Detail}";
}

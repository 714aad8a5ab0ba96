using System.Globalization;
using System.Xml.Linq;

namespace Iam4Kube.Testing.Sts;

/// <summary>STS's Query-protocol XML bodies, as the service writes them and the AWS SDKs parse them.</summary>
internal static class StsXml
{
    public static readonly XNamespace Namespace = "https://sts.amazonaws.com/doc/2011-06-15/";

    public static string AssumeRoleResponse(StsIssuedCredentials issued, string assumedRoleId, string requestId) =>
        Document(new XElement(
            Namespace + "AssumeRoleResponse",
            new XElement(
                Namespace + "AssumeRoleResult",
                new XElement(
                    Namespace + "AssumedRoleUser",
                    new XElement(Namespace + "AssumedRoleId", assumedRoleId),
                    new XElement(Namespace + "Arn", issued.AssumedRoleArn)),
                new XElement(
                    Namespace + "Credentials",
                    new XElement(Namespace + "AccessKeyId", issued.AccessKeyId),
                    new XElement(Namespace + "SecretAccessKey", issued.SecretAccessKey),
                    new XElement(Namespace + "SessionToken", issued.SessionToken),
                    new XElement(Namespace + "Expiration", Timestamp(issued.Expiration)))),
            new XElement(Namespace + "ResponseMetadata", new XElement(Namespace + "RequestId", requestId))));

    public static string ErrorResponse(StsError error, string requestId) =>
        Document(new XElement(
            Namespace + "ErrorResponse",
            new XElement(
                Namespace + "Error",
                new XElement(Namespace + "Type", error.Type),
                new XElement(Namespace + "Code", error.Code),
                new XElement(Namespace + "Message", error.Message)),
            new XElement(Namespace + "RequestId", requestId)));

    /// <summary>ISO 8601 in UTC to the second, as STS writes <c>Expiration</c>.</summary>
    public static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Document(XElement root) => root.ToString(SaveOptions.DisableFormatting);
}

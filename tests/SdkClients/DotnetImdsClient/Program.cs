using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Util;

// Obtains credentials exactly as an application using AWSSDK for .NET would on EC2, through whatever metadata
// endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT names (or 169.254.169.254). Run by the end-to-end tests inside a
// pod's network namespace. Prints the access key id and a fingerprint of the secret, never the secret itself.
//   DotnetImdsClient instance-profile | container | default-chain | region
var mode = args.Length > 0 ? args[0] : "instance-profile";
try
{
    switch (mode)
    {
        case "instance-profile":
        {
            using var provider = new InstanceProfileAWSCredentials();
            Print(await provider.GetCredentialsAsync());
            break;
        }

        case "container":
        {
            // EKS Pod Identity's protocol: AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
            var provider = new GenericContainerCredentials();
            Print(await provider.GetCredentialsAsync());
            break;
        }

        case "default-chain":
            Print(await (await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync()).GetCredentialsAsync());
            break;
        case "region":
            Console.WriteLine($"region={EC2InstanceMetadata.Region?.SystemName}");
            Console.WriteLine($"zone={EC2InstanceMetadata.AvailabilityZone}");
            break;
        default:
            Console.Error.WriteLine($"unknown mode {mode}");
            return 2;
    }

    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"{e.GetType().Name}: {e.Message}");
    return 1;
}

static void Print(ImmutableCredentials credentials)
{
    var fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(credentials.SecretKey)))[..16];
    Console.WriteLine($"access_key_id={credentials.AccessKey}");
    Console.WriteLine($"secret_sha256_16={fingerprint}");
    Console.WriteLine($"has_token={!string.IsNullOrEmpty(credentials.Token)}");
}

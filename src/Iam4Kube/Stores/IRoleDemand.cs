using Iam4Kube.Roles;

namespace Iam4Kube.Stores;

/// <summary>Told which roles ServiceAccounts currently assign, so their credentials are kept fresh.</summary>
internal interface IRoleDemand
{
    void Want(IamRole role);

    void Forget(IamRole role);
}

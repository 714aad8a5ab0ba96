{{/*
Object names are fixed, as in deploy/base: ip2service finds the Service by the name "iam4kube", the cluster-wide
RBAC objects can exist once per cluster, and there is one Iam4Kube per cluster anyway (ip2service owns every
node's 169.254.169.254).
*/}}

{{/* Labels on every object, as deploy/base's kustomization adds them. */}}
{{- define "iam4kube.partOf" -}}
app.kubernetes.io/part-of: iam4kube
{{- end }}

{{/* The image both workloads run: repository@digest, else repository:tag (appVersion when tag is empty). */}}
{{- define "iam4kube.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/*
The region ConfigMap's data, and its name with the same content-hash suffix kubectl kustomize's
configMapGenerator gives it (sha256 of {"data":…,"kind":"ConfigMap","name":""}, first 10 hex digits with
0 1 3 a e replaced by g h k m t). A change of region therefore rolls the Deployment, as with kustomize, and the
chart renders the very objects of deploy/overlays/production.
*/}}
{{- define "iam4kube.configData" -}}
{{- $region := required "region is required: the AWS region iam4kube calls STS in, e.g. --set region=eu-west-1" .Values.region -}}
{{- dict "AWS_REGION" $region | toJson -}}
{{- end }}

{{- define "iam4kube.configName" -}}
{{- $data := include "iam4kube.configData" . | fromJson -}}
{{- $hash := dict "data" $data "kind" "ConfigMap" "name" "" | toJson | sha256sum | trunc 10 -}}
iam4kube-config-{{ $hash | replace "0" "g" | replace "1" "h" | replace "3" "k" | replace "a" "m" | replace "e" "t" }}
{{- end }}

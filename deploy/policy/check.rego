# Not a Gatekeeper policy: deploy/check evaluates `found` over the rendered manifests
# (data.manifests) with the policies named in data.policies, the way Gatekeeper would review
# each object, so the shipped manifests are held to the same rules as anything else.
package assetinventory.check

found contains violation.msg if {
	some object in data.manifests
	some policy in data.policies
	violations := data.assetinventory[policy].violation with input as {"review": {"object": object}, "parameters": {}}
	some violation in violations
}

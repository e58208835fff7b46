"""The instances: IMDSv2, encrypted disks, no SSH, reachable from the ALB only, behind an HTTPS ALB; rolling
updates one instance at a time, each waiting for the new one's signal (the boot script: test_boot_script.py)."""

from __future__ import annotations

import re

from tests.deploy.cfn import ROOT, load_template, resources_of_type

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
LAUNCH = RESOURCES["LaunchTemplate"]["Properties"]["LaunchTemplateData"]


# -- the launch template ------------------------------------------------------------------------

def test_instances_require_imdsv2_with_a_hop_limit_of_one():
    assert LAUNCH["MetadataOptions"] == {"HttpEndpoint": "enabled", "HttpTokens": "required",
                                         "HttpPutResponseHopLimit": 1}


def test_every_disk_is_encrypted():
    assert LAUNCH["BlockDeviceMappings"]
    assert all(device["Ebs"]["Encrypted"] is True for device in LAUNCH["BlockDeviceMappings"])


def test_the_image_is_amazon_linux_2023_from_the_public_ssm_parameter():
    assert LAUNCH["ImageId"] == {"Ref": "LatestAmiId"}
    parameter = TEMPLATE["Parameters"]["LatestAmiId"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert parameter["Default"] == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def test_no_ssh_key_and_no_port_22_anywhere():
    assert "KeyName" not in LAUNCH
    rules = [rule for group in resources_of_type(TEMPLATE, "AWS::EC2::SecurityGroup").values()
             for rule in group["Properties"].get("SecurityGroupIngress", [])]
    rules += [r["Properties"] for r in resources_of_type(TEMPLATE, "AWS::EC2::SecurityGroupIngress").values()]
    assert rules
    assert not [rule for rule in rules if rule["FromPort"] <= 22 <= rule["ToPort"] or rule["IpProtocol"] == "-1"]


def test_instances_accept_only_nginx_port_from_the_alb_security_group():
    instance_group = RESOURCES["InstanceSecurityGroup"]["Properties"]
    assert instance_group["SecurityGroupIngress"] == [{
        "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "Description": "nginx, from the ALB only",
        "SourceSecurityGroupId": {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}}]
    # No stand-alone rule opens the instances to anything else.
    assert not resources_of_type(TEMPLATE, "AWS::EC2::SecurityGroupIngress")
    assert LAUNCH["SecurityGroupIds"] == [{"Fn::GetAtt": ["InstanceSecurityGroup", "GroupId"]}]


def test_the_alb_forwards_to_the_port_the_shipped_nginx_alb_server_listens_on():
    listen = re.search(r"^listen (\d+);", (ROOT / "deploy/nginx/pizza42/alb-server.conf").read_text(), re.M)
    target_group = RESOURCES["TargetGroup"]["Properties"]
    assert int(listen.group(1)) == target_group["Port"] == 8080
    egress = RESOURCES["LoadBalancerToInstances"]["Properties"]
    assert (egress["FromPort"], egress["ToPort"]) == (8080, 8080)
    assert egress["DestinationSecurityGroupId"] == {"Fn::GetAtt": ["InstanceSecurityGroup", "GroupId"]}


# -- the load balancer ---------------------------------------------------------------------------

def test_https_with_the_certificate_and_a_tls_1_2_or_1_3_policy_and_http_redirected():
    https, http = RESOURCES["HttpsListener"]["Properties"], RESOURCES["HttpListener"]["Properties"]
    assert (https["Port"], https["Protocol"]) == (443, "HTTPS")
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert http["DefaultActions"] == [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]


def test_the_alb_drops_invalid_headers_and_mitigates_desync_strictly():
    attributes = {a["Key"]: a["Value"] for a in RESOURCES["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
    # Below nginx's keep-alive behind it, so the ALB always closes an idle connection first.
    alb_server = (ROOT / "deploy/nginx/servers/alb.conf").read_text()
    assert int(attributes["idle_timeout.timeout_seconds"]) < int(re.search(r"keepalive_timeout (\d+)s;",
                                                                            alb_server).group(1))


def test_the_health_check_is_api_health():
    target_group = RESOURCES["TargetGroup"]["Properties"]
    assert (target_group["HealthCheckPath"], target_group["Matcher"]) == ("/api/health", {"HttpCode": "200"})


# -- the Auto Scaling group ----------------------------------------------------------------------

def test_rolling_updates_replace_one_instance_at_a_time_waiting_for_its_signal():
    group = RESOURCES["AutoScalingGroup"]
    rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["MaxBatchSize"] == 1
    assert rolling["MinInstancesInService"] == {"Ref": "InstanceCount"}
    assert rolling["WaitOnResourceSignals"] is True
    assert group["CreationPolicy"]["ResourceSignal"]["Count"] == {"Ref": "InstanceCount"}


def test_every_allowed_size_leaves_room_for_the_extra_instance_a_rolling_update_launches():
    parameter = TEMPLATE["Parameters"]["InstanceCount"]
    capacity = TEMPLATE["Mappings"]["Capacity"]
    assert RESOURCES["AutoScalingGroup"]["Properties"]["MaxSize"] == {
        "Fn::FindInMap": ["Capacity", {"Ref": "InstanceCount"}, "Max"]}
    for count in parameter["AllowedValues"]:
        assert int(count) >= 2  # at least two instances, in at least two subnets
        assert capacity[count]["Max"] > int(count)  # MinInstancesInService must stay below MaxSize


def test_the_group_spans_the_instance_subnets_behind_the_target_group():
    props = RESOURCES["AutoScalingGroup"]["Properties"]
    assert TEMPLATE["Parameters"]["InstanceSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert props["VPCZoneIdentifier"] == {"Ref": "InstanceSubnetIds"}
    assert props["TargetGroupARNs"] == [{"Ref": "TargetGroup"}]
    assert props["HealthCheckType"] == "ELB"

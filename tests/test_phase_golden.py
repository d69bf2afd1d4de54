"""The phase diagrams' Monte Carlo numbers, bit for bit (recorded before the simulators merged).

The values below were written by :func:`negmaml.experiments.phase.simulate_point` when the
non-Gaussian inputs still had their own simulator (``phase_simulation.simulate_diagonal``) and
the Gaussian ones went through :func:`negmaml.numeric.simulate`; they are the per-run
exact-estimator test losses (3 runs x 19 rates) of two grid points per input distribution, as
``float.hex``. One simulator must give the same numbers for the same seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from negmaml.experiments import phase as P

#: (inputs, family, x axis, y axis, extra parameters) of the three small diagrams.
DIAGRAMS = {
    "gaussian": ("powerlaw", ("a", [0.0, 1.0]), ("b", [-1.0, 1.0]), {}),
    "student": ("spiked", ("ratio", [2.0, 10.0]), None, {"df": 9.0}),
    "elliptical": ("powerlaw", ("b", [-1.0, 1.0]), None, {"df": 7.0}),
}
SIZES = dict(p=16, n_t=6, n_v=2, n_r=5, m=3)

RECORDED = {
    ("gaussian", 0): (
        "0x1.92613386286dap-1 0x1.961c74656fe08p-1 0x1.9edb54ed379b7p-1 0x1.a4773c8edc571p-1 "
        "0x1.c093e9a82bf05p-1 0x1.c8ad2ea0c788fp-1 0x1.e787301481974p-1 0x1.eea31d6759d6dp-1 "
        "0x1.0851946edb2e2p+0 0x1.2461de21500d7p+0 0x1.61a2c3912cbeep+0 0x1.c998f268e818fp+0 "
        "0x1.d4e1c1e222ca6p+0 0x1.6903bf921810fp+0 0x1.41e587a5055d6p+0 0x1.c4e65a55fa975p-1 "
        "0x1.ad287821cac6cp-1 0x1.921a217ef9b0dp-1 0x1.8a52e6c4ad742p-1 0x1.82623d5c34d86p-1 "
        "0x1.82641aa48b6c2p-1 0x1.826112d984760p-1 0x1.824c41863086dp-1 0x1.816235fa9a204p-1 "
        "0x1.81156ff2a3b5fp-1 0x1.803ef49429209p-1 0x1.802c279619df2p-1 0x1.809a62e28e5c4p-1 "
        "0x1.82d664ca49e89p-1 0x1.88b8c3962597fp-1 0x1.97390f9270b9dp-1 0x1.9cd89fdfa0e08p-1 "
        "0x1.bb1d5d1a4e3b4p-1 0x1.beffd20699150p-1 0x1.b67ae4983c842p-1 0x1.b6b25da6e903ap-1 "
        "0x1.be265440149d0p-1 0x1.c4a329aeedc82p-1 0x1.eb362106a0b55p-1 0x1.e17296d314748p-1 "
        "0x1.d35e07c80c423p-1 0x1.cec46061e2540p-1 0x1.d0a370a6b0637p-1 0x1.d52cc53011dbcp-1 "
        "0x1.ed79f3d2059e4p-1 0x1.f3e32604e3502p-1 0x1.0835916ffb032p+0 0x1.17642980811f4p+0 "
        "0x1.280963e354450p+0 0x1.3adcb0515aca1p+0 0x1.3f9e80103c02ep+0 0x1.53ba034107fa3p+0 "
        "0x1.579b5dc6533e8p+0 0x1.5b290aa5bb671p+0 0x1.5c36b0883ea1cp+0 0x1.6147acf708540p+0 "
        "0x1.646fe7740e9f6p+0 "
    ),
    ("gaussian", 1): (
        "0x1.d0ecfb0670789p-1 0x1.dc201062b62cep-1 0x1.f0ded2d6d8d2cp-1 0x1.027399d1d1092p+0 "
        "0x1.261731d13b98fp+0 0x1.31fb14d70790ap+0 0x1.4eec62559b2b1p+0 0x1.56faf61f351d6p+0 "
        "0x1.77f14684788cap+0 0x1.abdab56e67c8ep+0 0x1.8820ff77a3dd0p+0 0x1.6390b12eaf838p+0 "
        "0x1.6c58340066bccp+0 0x1.b6425c367ebcep+0 0x1.d8e734be1c464p+0 0x1.0738d03aa00c4p+1 "
        "0x1.fe9caaa66d5cep+0 0x1.d51431858c21ap+0 0x1.afaa3f48b4762p+0 0x1.9c8cc07614327p-1 "
        "0x1.9cbc64856a4dep-1 0x1.9e20afa2d4ec7p-1 0x1.a04f5bc3cd76bp-1 0x1.ae23077aad3bdp-1 "
        "0x1.b5892c989584bp-1 0x1.d2477cebf4f44p-1 0x1.dd9e0f6950a84p-1 0x1.07e607be73ddap+0 "
        "0x1.3edf838882af0p+0 0x1.bf929d29cbb00p+0 0x1.caf8b12dfd9c8p+0 0x1.cc56638eb3ff2p+0 "
        "0x1.c139e7bfe1ba2p+0 0x1.ac012e96e0312p+0 0x1.4dfc198773ac4p+0 0x1.2f03bacf75c3ep+0 "
        "0x1.1005f46727216p+0 0x1.001d5a79a1c3bp+0 0x1.16cf4c297f26ep+0 0x1.15541b4a0a690p+0 "
        "0x1.12a8e23d512ebp+0 0x1.103c5617b77b0p+0 0x1.08b0d01866b60p+0 0x1.06692222c0d04p+0 "
        "0x1.00e964d562104p+0 0x1.fede241c4fc6ap-1 0x1.f60896f4e7852p-1 0x1.eecebd85a9c24p-1 "
        "0x1.ed3ed50d82bebp-1 0x1.e8b35a86019f6p-1 0x1.e243491cd9e18p-1 0x1.c32d2bf3ed8b4p-1 "
        "0x1.b8b3a12bbb508p-1 0x1.a1921c32b74c8p-1 0x1.9c8f419ee3996p-1 0x1.9a6bf39b70d07p-1 "
        "0x1.9ef079932825dp-1 "
    ),
    ("student", 0): (
        "0x1.30db0d7e4652dp+0 0x1.2eeb66e8987cap+0 0x1.28299122693bbp+0 0x1.251f75589b1f1p+0 "
        "0x1.1211a3649d0c4p+0 0x1.0e5a533dc65cap+0 0x1.f98c9165c27c8p-1 0x1.f422ec967a082p-1 "
        "0x1.d87daa3a6c136p-1 0x1.c28099f7689e3p-1 0x1.b2abdf6d1c96ep-1 0x1.ad52e8263b10bp-1 "
        "0x1.accfe25858762p-1 0x1.a713d31a30bc8p-1 0x1.a75e1ebd52400p-1 0x1.e91f0daafa5e6p-1 "
        "0x1.fce46aa83c8bcp-1 0x1.1456ba899dd7cp+0 0x1.1a38c4d19fadcp+0 0x1.ad7213f34d7cdp-1 "
        "0x1.afd08875b2727p-1 0x1.bce9195bd4b9ap-1 0x1.c4ac371be4fc4p-1 0x1.05d909c5128cap+0 "
        "0x1.0f1c8d381da51p+0 0x1.47b253c6a2889p+0 0x1.52a9298be505cp+0 0x1.9870d9d431c66p+0 "
        "0x1.ef212328ff0d6p+0 0x1.41aa8b312693ap+1 0x1.86291d69f8c55p+1 0x1.6a0ed33973eb1p+1 "
        "0x1.14b818a6659a5p+1 0x1.140eab964a999p+1 0x1.002dde948f591p+1 0x1.e6b788f689018p+0 "
        "0x1.9aad86a991248p+0 0x1.818f08c390114p+0 0x1.74611ff44973cp-1 0x1.74b8574910057p-1 "
        "0x1.79d13baa8f9c2p-1 0x1.7dbc4748a6076p-1 0x1.ae16e55ec8d5cp-1 0x1.bd275a0d93c54p-1 "
        "0x1.0f9d1e90cbbc0p+0 0x1.188d50859b016p+0 0x1.42c2451744138p+0 0x1.53dd0f7f0e504p+0 "
        "0x1.4e5ff48405c38p+0 0x1.3bee3874677f4p+0 0x1.38e88cdf8a282p+0 0x1.363a9c7b127eep+0 "
        "0x1.3a1b3c3d60172p+0 0x1.51b20bde7aa98p+0 0x1.4ba648223a0a2p+0 0x1.2bd4f6086777bp+0 "
        "0x1.2001e6c32ef7dp+0 "
    ),
    ("student", 1): (
        "0x1.b800a1c653c00p+0 0x1.b1f08b4488eeep+0 0x1.a6505309b08dap+0 0x1.97da1a344f80cp+0 "
        "0x1.6837750604df4p+0 0x1.574f6643438f9p+0 0x1.359e25d3650cap+0 0x1.2d6cbe53732e8p+0 "
        "0x1.2052495b542f6p+0 0x1.4701486fe5e90p+0 0x1.fc1b2b70804b6p+0 0x1.34f621fa4cf76p+1 "
        "0x1.5bc84891a5995p+1 0x1.ab273047614e3p+1 0x1.af0ea659d8ab9p+1 0x1.331cf5f0b2dd0p+1 "
        "0x1.0e4db4cb10f56p+1 0x1.f0f4d23f201a0p+0 0x1.dc56c79c6c2f4p+0 0x1.8a42a055c0d64p+0 "
        "0x1.92df3d3b2f8a0p+0 0x1.9d019a16ea64cp+0 0x1.a66699096e483p+0 0x1.c41123163468ap+0 "
        "0x1.d1ffadca96ee8p+0 0x1.fe73b5aaeeb18p+0 0x1.086d89d147ec2p+1 0x1.294eefc66d0bbp+1 "
        "0x1.59197ef2063a5p+1 0x1.87227461556f6p+1 0x1.498d1df8b757dp+1 0x1.19deb7c562f1ap+1 "
        "0x1.d2fdbde5d5b56p+0 0x1.84ebc3b036ca3p+0 0x1.2829ee8265bfbp+0 0x1.273235d2eeec4p+0 "
        "0x1.2b2db8e5cda8dp+0 0x1.2f00caaac8664p+0 0x1.20ff7dca30b82p+0 0x1.266e98bf76a3ap+0 "
        "0x1.2d9a2a46aabdap+0 0x1.3457dbfbbc47ap+0 0x1.44a520c9172c6p+0 0x1.492943faee1b4p+0 "
        "0x1.4fba2d30c75dfp+0 0x1.5075161d456f8p+0 0x1.4e6f8ca9b08bfp+0 0x1.43bdc31061ef0p+0 "
        "0x1.30213d6393fd1p+0 0x1.4d96b280a5434p+0 0x1.6f6e922001ac7p+0 0x1.c297b9b512b2ep+0 "
        "0x1.d0e4bb871b0cap+0 0x1.b466cedf1e67cp+0 0x1.a481650747cf1p+0 0x1.9517a1cf9a6b5p+0 "
        "0x1.8b13b980fb30ep+0 "
    ),
    ("elliptical", 0): (
        "0x1.83e6885253b85p+0 0x1.69900b975ff8ep+0 0x1.4ea0354d808a8p+0 0x1.3d3780d6781aap+0 "
        "0x1.2f68f2932240cp+0 0x1.348cb31f15b14p+0 0x1.4cd18a81da833p+0 0x1.54e3539025768p+0 "
        "0x1.6d3415c60afedp+0 0x1.bbe7e82ae5798p+0 0x1.3c31046fb5874p+1 0x1.f12ad6f365364p+0 "
        "0x1.ed53bdf00aa8ap+0 0x1.17add4ea5ed02p+1 0x1.0f88b7e320891p+1 0x1.e0190b69e47b5p+0 "
        "0x1.f4c4cec1bee23p+0 0x1.0fa71f0b972f1p+1 0x1.21e30e55631bep+1 0x1.a6153b3ed71a7p-1 "
        "0x1.a3e1899960b43p-1 0x1.a1816af66900ap-1 0x1.9fe53cd856aedp-1 0x1.9f082eaeec606p-1 "
        "0x1.a01ce0e6d6605p-1 0x1.a5befab3b74cap-1 0x1.a86c1eda29000p-1 0x1.b470857644f4ap-1 "
        "0x1.bf4206707815ap-1 0x1.d2a891ebbfd84p-1 0x1.db2a7781b00bep-1 0x1.f0cb0557bd210p-1 "
        "0x1.1f0caad8c6d7bp+0 0x1.196313c8bdba9p+0 0x1.ef995a1241fe2p-1 0x1.e143a92c7f670p-1 "
        "0x1.d6c667cbaceecp-1 0x1.d0ddd95f1644dp-1 0x1.e3101189b529ep-1 0x1.f53ea9b043461p-1 "
        "0x1.073f42593e4d4p+0 0x1.139edd09e28f8p+0 0x1.3a8d8e35aacc4p+0 0x1.4b3413bc9b68cp+0 "
        "0x1.821641eedfd02p+0 0x1.9af837c7c2095p+0 0x1.0eab63a05329cp+1 0x1.5cc46f39dafeap+1 "
        "0x1.9c887bf58daacp+1 0x1.e2aa187aebaf5p+1 0x1.c23f1b04f280ep+1 0x1.3cc534fa7bf6ep+1 "
        "0x1.18c85088eca08p+1 0x1.98b1d695b654fp+0 0x1.6acbda0940662p+0 0x1.3e971fa5342a8p+0 "
        "0x1.2101f12065ecep+0 "
    ),
    ("elliptical", 1): (
        "0x1.0d5cb96ace66bp+1 0x1.3d0e08d8e3110p+1 0x1.92ae6eb2a42b6p+1 0x1.6d32a1c877712p+1 "
        "0x1.52e9915dbe0bbp+1 0x1.3905c936daddfp+1 0x1.32cda050602eep+1 0x1.1e5030f7fd104p+1 "
        "0x1.1283b006b20acp+1 0x1.088bc8b85927dp+1 0x1.00d5d8b960183p+1 0x1.f75022608d3adp+0 "
        "0x1.f16ea16b5db06p+0 0x1.f1d14b6aa7492p+0 0x1.fabf3454b0ce2p+0 0x1.04d578597653cp+1 "
        "0x1.25e627c00744ep+1 0x1.0d3c38e1d4d9cp+1 0x1.ab8cd449146a2p+0 0x1.d1f0325c78c3dp+0 "
        "0x1.0ea4c09dbf07ap+1 0x1.5567f665cf3fep+1 0x1.66cc82e817b24p+1 0x1.520e34f1981fep+1 "
        "0x1.350a901987d2ep+1 0x1.2cadb4d25dd2cp+1 0x1.0c0876fa984ecp+1 0x1.e94edc9f9c577p+0 "
        "0x1.ba6fcd822eda5p+0 0x1.8f3f7d8c74bacp+0 0x1.6b86e58d1b44ep+0 0x1.49032861aace2p+0 "
        "0x1.44165cf890465p+0 0x1.518a7e763f5c9p+0 0x1.8efae7bbb2f02p+0 0x1.b4ebeb2e3522ap+0 "
        "0x1.eff2de0d88741p+0 0x1.ce4adb83ca67ap+0 0x1.a6928a94ab0f6p+0 0x1.a578c5ead8f30p+0 "
        "0x1.a7f3c7794302bp+0 0x1.b70ca13d3b44dp+0 0x1.c09d43adbfdd8p+0 0x1.c81a280e92bc2p+0 "
        "0x1.c9971ac07c04ap+0 0x1.cbf334e3abd12p+0 0x1.c85a9e7c01006p+0 0x1.bc44cba640ef6p+0 "
        "0x1.a333cf1daf8dap+0 0x1.7d534e6d550e0p+0 0x1.47aea573ac2dep+0 0x1.3fe8b73cb4693p+0 "
        "0x1.3ce46af3b82bep+0 0x1.45523a4a954b4p+0 0x1.3642f1faa8d6ep+0 0x1.2e970a56bfe6cp+0 "
        "0x1.539b4a0edc71ap+0 "
    ),
}


@pytest.mark.parametrize("inputs,index", sorted(RECORDED))
def test_phase_monte_carlo_is_bit_identical(inputs: str, index: int) -> None:
    family, x, y, extra = DIAGRAMS[inputs]
    theory = P.phase_diagram(family, x, y, inputs=inputs, **SIZES, **extra)
    spec = P.task_spec(theory, index, runs=3, seed=11)
    per_run = P.simulate_point(spec)
    expected = np.array([float.fromhex(v) for v in RECORDED[inputs, index].split()])
    assert per_run.shape == (3, 19)
    np.testing.assert_array_equal(per_run.ravel(), expected)

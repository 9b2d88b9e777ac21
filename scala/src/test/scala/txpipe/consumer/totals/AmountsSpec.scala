package txpipe.consumer.totals

import java.math.BigDecimal

import org.scalatest.funsuite.AnyFunSuite

class AmountsSpec extends AnyFunSuite {

  private def shortest(d: Double): String = Amounts.fromDouble(d).toString

  test("shortest decimal of everyday amounts") {
    assert(Amounts.fromDouble(0.1) == new BigDecimal("0.1"))
    assert(Amounts.fromDouble(0.3) == new BigDecimal("0.3"))
    assert(Amounts.fromDouble(1523.4) == new BigDecimal("1523.4"))
    assert(Amounts.fromDouble(123456789.12) == new BigDecimal("123456789.12"))
    assert(Amounts.fromDouble(2.5e-5) == new BigDecimal("0.000025"))
    assert(Amounts.fromDouble(1e-7) == new BigDecimal("1E-7"))
    assert(Amounts.fromDouble(1e22) == new BigDecimal("1E+22"))
    assert(Amounts.fromDouble(-42.5) == new BigDecimal("-42.5"))
    assert(Amounts.fromDouble(0.1 + 0.2) == new BigDecimal("0.30000000000000004"))
  }

  test("shorter than JDK 17's Double.toString and BigDecimal.valueOf where those are not shortest") {
    // JDK 17 prints 9.999999999999999E22, 1.9999999999999998E23, 4.9E-324 and 0.000010 here.
    assert(shortest(1.0e23) == "1E+23")
    assert(shortest(2.0e23) == "2E+23")
    assert(shortest(8.41e21) == "8.41E+21")
    assert(shortest(9.2e22) == "9.2E+22")
    assert(shortest(5e-324) == "5E-324")
    assert(shortest(1.0e-5) == "0.00001")
    assert(shortest(2.0e-3) == "0.002")
  }

  test("agrees with Python's repr on edge cases and random doubles") {
    // (IEEE bits, repr(x)) pairs printed by CPython; bits avoid any parsing on this side.
    for ((bits, repr) <- AmountsSpec.PythonRepr) {
      val d = java.lang.Double.longBitsToDouble(bits)
      val expected = new BigDecimal(repr).stripTrailingZeros
      val actual = Amounts.fromDouble(d)
      assert(actual == expected, s"for $repr (bits ${bits.toHexString}) got ${actual.toPlainString}")
      assert(actual.doubleValue == d)
    }
  }

  test("ten times 0.1 sums to exactly 1.0") {
    val sum = (1 to 10).foldLeft(BigDecimal.ZERO)((acc, _) => acc.add(Amounts.fromDouble(0.1)))
    assert(sum.compareTo(BigDecimal.ONE) == 0)
    assert(Amounts.format(sum) == "1.00")
    assert((1 to 10).map(_ => 0.1).sum != 1.0) // the reason for all this
  }

  test("formatting keeps at least two decimals and never an exponent") {
    assert(Amounts.format(new BigDecimal("1523.4")) == "1523.40")
    assert(Amounts.format(new BigDecimal("0.05")) == "0.05")
    assert(Amounts.format(new BigDecimal("12.345")) == "12.345")
    assert(Amounts.format(new BigDecimal("-3")) == "-3.00")
    assert(Amounts.format(Amounts.fromDouble(100.0)) == "100.00") // scale -2 after stripping
    assert(Amounts.format(Amounts.fromDouble(1e22)) == "10000000000000000000000.00")
    assert(Amounts.format(Amounts.fromDouble(1e-7)) == "0.0000001")
    assert(Amounts.format(Amounts.fromDouble(0.0)) == "0.00")
    assert(Amounts.format(Amounts.fromDouble(-0.0)) == "0.00")
  }

  test("format and parse round-trip exactly") {
    for (s <- Seq("1523.40", "0.05", "12.345", "-3.00", "0.30000000000000004")) {
      assert(Amounts.format(Amounts.parse(s)) == s)
    }
  }

  test("non-finite amounts are refused") {
    assertThrows[IllegalArgumentException](Amounts.fromDouble(Double.NaN))
    assertThrows[IllegalArgumentException](Amounts.fromDouble(Double.PositiveInfinity))
    assertThrows[IllegalArgumentException](Amounts.fromDouble(Double.NegativeInfinity))
  }
}

object AmountsSpec {
  val PythonRepr: Seq[(Long, String)] = Seq(
    // Around the cents fast path: its limit 2^45, halves of a cent, large random cents.
    (0x42bffffffffffffdL, "35184372088831.99"),
    (0x42bffffffffffffbL, "35184372088831.98"),
    (0x42c0000000000001L, "35184372088832.01"),
    (0x42affffffffffffbL, "17592186044415.99"),
    (0x42b0000000000012L, "17592186044416.07"),
    (0x3f847ae147ae147bL, "0.01"),
    (0x3f747ae147ae147bL, "0.005"),
    (-0x407b851eb851eb85L, "-0.01"),
    (0x3f8eb851eb851eb8L, "0.015"),
    (0x42a674e79c5fe524L, "12345678901234.57"),
    (-0x3d40000000000008L, "-35184372088831.97"),
    (0x412e847ffd70a3d7L, "999999.995"),
    (0x3fa70a3d70a3d70aL, "0.045"),
    (0x3ff0147ae147ae14L, "1.005"),
    (0x4005666666666666L, "2.675"),
    (-0x3d7117ada7adc814L, "-4247895345734.99"),
    (-0x3d83f73738334baeL, "-1926503365835.27"),
    (0x42942e7c6e883fa4L, "5547472167439.91"),
    (0x42a0474935b7eb14L, "8949178489845.54"),
    (0x429108e243face71L, "4682463379123.61"),
    (0x427c2a1fe4f56148L, "1935453081430.08"),
    (0x42a03b11553f6b2eL, "8922939957173.59"),
    (0x429b2fcafa1a1300L, "7473020700292.75"),
    (-0x3d700b9fbce7f4cdL, "-4391805936385.4"),
    (-0x3d5fef1ebf4b3f24L, "-8832342317664.43"),
    (-0x3d687835d58e7d3dL, "-6467994950752.69"),
    (-0x3d884f466ecf8385L, "-1627987186439.78"),
    (0x3fb999999999999aL, "0.1"),
    (0x3fc999999999999aL, "0.2"),
    (0x3fd3333333333333L, "0.3"),
    (0x3fd3333333333334L, "0.30000000000000004"),
    (0x3e7ad7f29abcaf48L, "1e-07"),
    (0x4097cd999999999aL, "1523.4"),
    (0x3efa36e2eb1c432dL, "2.5e-05"),
    (0x4480f0cf064dd592L, "1e+22"),
    (0x44b52d02c7e14af6L, "1e+23"),
    (0x44c52d02c7e14af6L, "2e+23"),
    (0x419d6f34547ae148L, "123456789.12"),
    (0x3f60624dd2f1a9fcL, "0.002"),
    (0x3ee4f8b588e368f1L, "1e-05"),
    (0x0000000000000001L, "5e-324"),
    (0x0010000000000000L, "2.2250738585072014e-308"),
    (0x7fefffffffffffffL, "1.7976931348623157e+308"),
    (0x447c7e83209e90b2L, "8.41e+21"),
    (0x44b37b547a731c02L, "9.2e+22"),
    (0x7be0000000000000L, "4.8726570057e+288"),
    (0xc045400000000000L, "-42.5"),
    (0x3fb1eb851eb851ecL, "0.07"),
    (0x3d30000000000000L, "5.684341886080802e-14"),
    (0x43b0000000000000L, "1.152921504606847e+18"),
    (0x0010000000000000L, "2.2250738585072014e-308"),
    (0x4340000000000000L, "9007199254740992.0"),
    (0x8000000000000000L, "-0.0"),
    (0x0000000000000000L, "0.0"),
    (0x3ff0000000000000L, "1.0"),
    (0x4059000000000000L, "100.0"),
    (0x4341c37937e08000L, "1e+16"),
    (0x430c6bf526340002L, "1000000000000000.2"),
    (0x3efa36e2eb1c432dL, "2.5e-05"),
    (0x4040aa3d70a3d70aL, "33.33"),
    (0x4033fd70a3d70a3dL, "19.99"),
    (0x2c5d6baed2eac902L, "5.5095159017672674e-95"),
    (0xf3c95789ace1a954L, "-5.670043077268001e+249"),
    (0x0b66402800e03d2cL, "9.484088403090182e-254"),
    (0xcbf27734ac103525L, "-7.244421733362765e+57"),
    (0xfc27ed12b10877a9L, "-1.1658351535612136e+290"),
    (0xe0a3a91f2346cc13L, "-3.374156406513168e+157"),
    (0x7714dc919b27dbdfL, "4.20420360016783e+265"),
    (0xf1260ebc7d56ab56L, "-1.1221325118486063e+237"),
    (0xc280ad3729a6f2e7L, "-2292017607902.363"),
    (0x6caf76a5703598aeL, "3.389482710346597e+215"),
    (0xd670c342c6cce996L, "-2.460500202761952e+108"),
    (0x3f0c9931918c40bfL, "5.4547143184648e-05"),
    (0xcc9c26a813678d7aL, "-1.1309229077948092e+61"),
    (0x004498f4b987f7c1L, "2.291546182560857e-307"),
    (0x8fcc69d79561a0d1L, "-1.4298064954111936e-232"),
    (0x0ecaf828e2f79553L, "2.0708292649155528e-237"),
    (0x24414c46f147ecf9L, "4.759778729033471e-134"),
    (0x73f80e52a36958b5L, "4.3058499789768537e+250"),
    (0xe1010f154a9f2968L, "-1.8736963953898256e+159"),
    (0xc1af446506f102fcL, "-262288003.4707259"),
    (0xff72c46dca8fbe35L, "-8.236779022499217e+305"),
    (0xb459071afb8adf9eL, "-1.5948605918252632e-56"),
    (0xe81696a68afe2312L, "-2.5764648227519757e+193"),
    (0x5a3c1fbdf9da0bf3L, "4.7594324847809176e+126"),
    (0x402a2e8f96fc5ce8L, "13.090939253145237"),
    (0x135d63cf1293924cL, "2.131380081604341e-215"),
    (0x410915b0875b0b21L, "205494.0660916204"),
    (0xa4ea3938d429fc52L, "-7.388953574394903e-131"),
    (0x7331dab129ea3a7bL, "7.802224775625371e+246"),
    (0xbdfaef428c7d7431L, "-3.919501498448939e-10"),
    (0x3a569ee452a5d423L, "1.1420520538274233e-27"),
    (0x4260ce86ca96fd78L, "577475335351.9209"),
    (0xac59157196f119beL, "-4.697362683979354e-95"),
    (0x44e767f743bb3898L, "8.842580882879718e+23"),
    (0xce1f39485d23d1f3L, "-2.104477290147235e+68"),
    (0x23cc390c9354d0e3L, "3.033561555003418e-136"),
    (0x55d0c57b811008b7L, "2.40407617908592e+105"),
    (0x4d1dd7de07c1837bL, "3.069198356713526e+63"),
    (0x26e144cf0b4152c8L, "2.089842319620674e-121"),
    (0x06f3179fec433ae0L, "3.4465283662767746e-275"),
    (0x40c254b99999999aL, "9385.45"),
    (0x407536b851eb851fL, "339.42"),
    (0xc084b8b851eb851fL, "-663.09"),
    (0xc09eadcccccccccdL, "-1963.45"),
    (0xc09e3e999999999aL, "-1935.65"),
    (0x40a0ed851eb851ecL, "2166.76"),
    (0x40a869d1eb851eb8L, "3124.91"),
    (0xc0b6af570a3d70a4L, "-5807.34"),
    (0x40bc841c28f5c28fL, "7300.11"),
    (0x40b71e51eb851eb8L, "5918.32"),
    (0xc0b8fa828f5c28f6L, "-6394.51"),
    (0xc0b7798a3d70a3d7L, "-6009.54"),
    (0x40bae3eb851eb852L, "6883.92"),
    (0x40a61a1eb851eb85L, "2829.06"),
    (0xc0b7f61eb851eb85L, "-6134.12"),
    (0x40bd518000000000L, "7505.5"),
    (0xc09a1ceb851eb852L, "-1671.23"),
    (0x40bee3b0a3d70a3dL, "7907.69"),
    (0x40c0f6c666666666L, "8685.55"),
    (0xc0a1618f5c28f5c3L, "-2224.78")
  )
}

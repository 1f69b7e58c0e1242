// SPDX-License-Identifier: GPL-2.0
/*
 * Lab only: a GPIO chip with nothing behind it, standing in for a Pi's header.
 *
 * Debian bookworm's kernel builds neither gpio-sim nor gpio-mockup (and not the
 * IRQ_SIM both need), so the QEMU lab builds this instead against Debian's own
 * headers. It is a real gpiolib chip: the unit reaches it through /dev/gpiochip0
 * and the character device uAPI exactly as lgpio reaches a Pi's. What consumers
 * drive on each line is readable, one '0' or '1' a line, in
 * /sys/devices/platform/lab-gpio/values: the test's meter on the header.
 */
#include <linux/bitmap.h>
#include <linux/device.h>
#include <linux/gpio/driver.h>
#include <linux/module.h>
#include <linux/platform_device.h>

#define LAB_LINES 54 /* BCM2711 bank 0: GPIO0-GPIO53 */

static DECLARE_BITMAP(lab_values, LAB_LINES);
static DECLARE_BITMAP(lab_outputs, LAB_LINES);
static struct platform_device *lab_pdev;

static int lab_get(struct gpio_chip *gc, unsigned int off)
{
	return test_bit(off, lab_values);
}

static void lab_set(struct gpio_chip *gc, unsigned int off, int value)
{
	assign_bit(off, lab_values, value);
}

static int lab_output(struct gpio_chip *gc, unsigned int off, int value)
{
	set_bit(off, lab_outputs);
	assign_bit(off, lab_values, value);
	return 0;
}

static int lab_input(struct gpio_chip *gc, unsigned int off)
{
	clear_bit(off, lab_outputs);
	return 0;
}

static int lab_direction(struct gpio_chip *gc, unsigned int off)
{
	return test_bit(off, lab_outputs) ? GPIO_LINE_DIRECTION_OUT : GPIO_LINE_DIRECTION_IN;
}

static struct gpio_chip lab_chip = {
	.label = "lab-gpio",
	.owner = THIS_MODULE,
	.base = -1,
	.ngpio = LAB_LINES,
	.get = lab_get,
	.set = lab_set,
	.direction_output = lab_output,
	.direction_input = lab_input,
	.get_direction = lab_direction,
};

static ssize_t values_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	int i;

	for (i = 0; i < LAB_LINES; i++)
		buf[i] = test_bit(i, lab_values) ? '1' : '0';
	buf[LAB_LINES] = '\n';
	return LAB_LINES + 1;
}
static DEVICE_ATTR_RO(values);

static int __init lab_init(void)
{
	int ret;

	lab_pdev = platform_device_register_simple("lab-gpio", -1, NULL, 0);
	if (IS_ERR(lab_pdev))
		return PTR_ERR(lab_pdev);
	lab_chip.parent = &lab_pdev->dev;
	ret = gpiochip_add_data(&lab_chip, NULL);
	if (!ret)
		ret = device_create_file(&lab_pdev->dev, &dev_attr_values);
	if (ret)
		platform_device_unregister(lab_pdev);
	return ret;
}

static void __exit lab_exit(void)
{
	device_remove_file(&lab_pdev->dev, &dev_attr_values);
	gpiochip_remove(&lab_chip);
	platform_device_unregister(lab_pdev);
}

module_init(lab_init);
module_exit(lab_exit);
MODULE_DESCRIPTION("QEMU lab stand-in for a Raspberry Pi GPIO header");
MODULE_LICENSE("GPL");
